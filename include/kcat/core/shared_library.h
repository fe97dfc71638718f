#pragma once
// A shared library opened when kcat first needs it (dlopen) instead of when kcat starts. For the
// large ones kcat needs only sometimes: libcurl with its TLS and Kerberos libraries (LLM requests)
// and libgit2 with its own (git work, .gitignore). Each costs milliseconds at every start when
// linked, and `kcat scan` of a tree without git needs neither (docs/PERFORMANCE.md).
#include <mutex>
#include <string>

namespace kcat {

class SharedLibrary {
 public:
  // `soname` as the dynamic loader finds it ("libcurl.so.4"); `needed_for` and `install` finish
  // the error when it cannot be loaded ("the LLM client", "apt install libcurl4").
  SharedLibrary(std::string soname, std::string needed_for, std::string install);
  SharedLibrary(const SharedLibrary&) = delete;
  SharedLibrary& operator=(const SharedLibrary&) = delete;

  // The address of `name`, loading the library on the first call (thread-safe). Throws
  // Error(Environment) naming the library and how to install it.
  void* symbol(const char* name);

  template <class F>
  F function(const char* name) {
    return reinterpret_cast<F>(symbol(name));
  }

 private:
  std::string soname_, needed_for_, install_;
  std::once_flag once_;
  void* handle_ = nullptr;
  std::string failure_;
};

}  // namespace kcat
