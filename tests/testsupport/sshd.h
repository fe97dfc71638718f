#pragma once
// A real sshd on 127.0.0.1 for tests of remote runs: its own host key, an authorized client key
// and config in a temp dir. Debian's openssh-server (tools/install.sh --test) provides /usr/sbin/sshd.
#include <sys/types.h>

#include <string>
#include <vector>

#include "testsupport/support.h"

namespace kcat::test {

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();

class Sshd {
 public:
  Sshd();
  ~Sshd();
  Sshd(const Sshd&) = delete;
  Sshd& operator=(const Sshd&) = delete;
  static bool available();         // /usr/sbin/sshd exists
  bool ok() const { return ok_; }  // it listens on port()
  int port() const { return port_; }
  const TempDir& dir() const { return dir_; }
  // ssh arguments that reach it: port, client key, no host-key prompts.
  std::vector<std::string> args() const;
  static std::string user();  // $USER, else root

 private:
  bool listening();

  TempDir dir_;
  int port_;
  pid_t pid_ = -1;
  bool ok_ = false;
};

}  // namespace kcat::test
