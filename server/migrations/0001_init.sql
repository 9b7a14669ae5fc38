-- Patients, their devices, and one row per push attempt (DESIGN section 4).

CREATE TABLE patients (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- E.164, normalised by libphonenumber before it gets here.
  mobile_number text NOT NULL UNIQUE
                CHECK (mobile_number ~ '^\+[1-9][0-9]{1,14}$'),
  active        boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE devices (
  -- The RFC 8599 pn-prid the device registers with.
  id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  patient_id            uuid NOT NULL REFERENCES patients (id) ON DELETE CASCADE,
  platform              text NOT NULL CHECK (platform IN ('ios', 'android')),
  -- Which push credentials to use (the RFC's pn-param is our concern).
  app                   text NOT NULL,
  -- APNs environment; NULL means the app's configured default.
  environment           text CHECK (environment IN ('sandbox', 'production')),
  -- iOS PushKit token, or the FCM token on Android.
  voip_token            text CHECK (voip_token <> ''),
  -- iOS regular APNs token, or the FCM token on Android.
  push_token            text CHECK (push_token <> ''),
  inbound_calls_allowed boolean NOT NULL DEFAULT true,
  token_updated_at      timestamptz NOT NULL DEFAULT now(),
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now()
);

-- Callable devices by mobile number: patients(mobile_number) then this.
CREATE INDEX devices_patient_id ON devices (patient_id, created_at);

CREATE TABLE call_pushes (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  call_id           text NOT NULL,
  -- No foreign key: the history outlives a removed device.
  device_id         uuid NOT NULL,
  kind              text NOT NULL CHECK (kind IN ('call', 'update', 'cancel')),
  reason            text NOT NULL DEFAULT '',
  provider          text NOT NULL DEFAULT '',
  outcome           text NOT NULL
                    CHECK (outcome IN ('pending', 'accepted', 'rejected', 'failed')),
  provider_status   integer NOT NULL DEFAULT 0,
  provider_reason   text NOT NULL DEFAULT '',
  provider_id       text NOT NULL DEFAULT '',
  latency_us        bigint NOT NULL DEFAULT 0,
  token_invalidated boolean NOT NULL DEFAULT false,
  -- An open claim makes Call idempotent per (call_id, device_id): set on a
  -- call row while it is pending or accepted within the ring window.
  claim_open        boolean NOT NULL DEFAULT false,
  created_at        timestamptz NOT NULL DEFAULT now(),
  completed_at      timestamptz
);

CREATE INDEX call_pushes_call_id ON call_pushes (call_id, id);
CREATE UNIQUE INDEX call_pushes_open_claim ON call_pushes (call_id, device_id)
  WHERE claim_open;
CREATE INDEX call_pushes_created_at ON call_pushes (created_at);

-- Claims (call_id, device_id) for a VoIP push in one round trip. An open
-- claim older than the ring window is closed first. Answers claimed=true with
-- the new pending row's id, or claimed=false with the open claim's outcome.
CREATE FUNCTION claim_call_push(p_call_id text, p_device_id uuid,
                                p_provider text, p_ring_window_ms bigint,
                                OUT claimed boolean, OUT attempt_id bigint,
                                OUT existing_outcome text)
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE call_pushes SET claim_open = false
   WHERE call_id = p_call_id AND device_id = p_device_id AND claim_open
     AND created_at < clock_timestamp() - p_ring_window_ms * interval '1 millisecond';
  -- The winner of a race may close its claim (a failed push) between our
  -- INSERT and SELECT; then try again.
  FOR i IN 1..3 LOOP
    INSERT INTO call_pushes (call_id, device_id, kind, provider, outcome,
                             claim_open, created_at)
    VALUES (p_call_id, p_device_id, 'call', p_provider, 'pending', true,
            clock_timestamp())
    ON CONFLICT (call_id, device_id) WHERE claim_open DO NOTHING
    RETURNING id INTO attempt_id;
    IF attempt_id IS NOT NULL THEN
      claimed := true;
      RETURN;
    END IF;
    SELECT outcome INTO existing_outcome FROM call_pushes
     WHERE call_id = p_call_id AND device_id = p_device_id AND claim_open;
    IF existing_outcome IS NOT NULL THEN
      claimed := false;
      RETURN;
    END IF;
  END LOOP;
  claimed := false;
  existing_outcome := 'pending';
END
$$;
