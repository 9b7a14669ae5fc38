#!/usr/bin/env bash
# Makes the local run's throw-away push credentials with openssl, once:
#   deploy/local/make-credentials.sh DIR
# writes into DIR (mode 0700; private keys 0600), unless DIR/.complete says
# a previous call already did:
#   ca.pem, ca-key.pem          a test CA (EC P-256) the server trusts for the
#                               sandbox (push config caFile)
#   server.pem, server-key.pem  the sandbox's TLS certificate (localhost,
#                               127.0.0.1, ::1) followed by the CA, and its key
#   apns-key.p8                 the APNs token-auth key (PKCS#8 EC P-256, as
#                               Apple hands it out); apns-public.pem for the
#                               sandbox to check the JWTs
#   fcm-key.pem                 the FCM service account's RSA-2048 key;
#                               fcm-public.pem for the sandbox's /token
# Prints "generated DIR" or "reusing DIR". Nothing here is a real secret:
# these keys are trusted by the local sandbox only.
set -euo pipefail
dir=${1:?usage: make-credentials.sh DIR}

if [[ -f "$dir/.complete" ]]; then
  echo "reusing $dir"
  exit 0
fi
command -v openssl >/dev/null || { echo "make-credentials: openssl is not installed" >&2; exit 1; }
mkdir -p "$dir"
chmod 700 "$dir"
umask 077
tmp=$(mktemp -d "$dir/.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

ec_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# The CA.
ec_key "$tmp/ca-key.pem"
openssl req -x509 -new -key "$tmp/ca-key.pem" -sha256 -days 3650 \
  -subj "/O=callpush local run/CN=callpush local sandbox CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out "$tmp/ca.pem"

# The sandbox's server certificate, signed by the CA; the chain it presents
# is the certificate and then the CA.
ec_key "$tmp/server-key.pem"
openssl req -new -key "$tmp/server-key.pem" -subj "/O=callpush local run/CN=localhost" \
  -out "$tmp/server.csr"
cat >"$tmp/server.ext" <<'EXT'
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EXT
openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca-key.pem" \
  -set_serial "0x$(openssl rand -hex 15)" -days 825 -sha256 \
  -extfile "$tmp/server.ext" -out "$tmp/server-cert.pem" 2>/dev/null
cat "$tmp/server-cert.pem" "$tmp/ca.pem" >"$tmp/server.pem"
openssl verify -CAfile "$tmp/ca.pem" "$tmp/server-cert.pem" >/dev/null

# APNs token auth: an ES256 key in the .p8 form (PKCS#8 PEM).
ec_key "$tmp/apns-key.p8"
openssl pkey -in "$tmp/apns-key.p8" -pubout -out "$tmp/apns-public.pem"

# FCM: the service account's RSA key (the JSON around it is written by up.sh,
# since its token_uri names the sandbox's address).
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/fcm-key.pem" 2>/dev/null
openssl pkey -in "$tmp/fcm-key.pem" -pubout -out "$tmp/fcm-public.pem"

for f in ca.pem ca-key.pem server.pem server-key.pem apns-key.p8 apns-public.pem \
  fcm-key.pem fcm-public.pem; do
  mv "$tmp/$f" "$dir/$f"
done
chmod 644 "$dir"/ca.pem "$dir"/server.pem "$dir"/apns-public.pem "$dir"/fcm-public.pem
touch "$dir/.complete"
echo "generated $dir"
