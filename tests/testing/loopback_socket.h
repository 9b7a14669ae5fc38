// LoopbackSocket: a TCP socket bound on 127.0.0.1 (port 0: the kernel picks
// one). Unlistened, its port refuses connections; after Listen() it is a
// peer that accepts connections into its backlog and never answers, or a
// listening socket for a test server to accept() on.
#ifndef CALLPUSH_TESTS_TESTING_LOOPBACK_SOCKET_H_
#define CALLPUSH_TESTS_TESTING_LOOPBACK_SOCKET_H_

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

namespace callpush::testing {

class LoopbackSocket {
 public:
  LoopbackSocket() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~LoopbackSocket() { Close(); }
  LoopbackSocket(const LoopbackSocket&) = delete;
  LoopbackSocket& operator=(const LoopbackSocket&) = delete;

  void Listen() { EXPECT_EQ(listen(fd_, 16), 0); }
  // Wakes a thread blocked in accept() on fd() and closes the socket.
  void Close() {
    if (fd_ < 0) return;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    fd_ = -1;
  }
  int fd() const { return fd_; }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

}  // namespace callpush::testing

#endif  // CALLPUSH_TESTS_TESTING_LOOPBACK_SOCKET_H_
