#include "kcat/core/shared_library.h"

#include <dlfcn.h>

#include "kcat/core/error.h"

namespace kcat {

SharedLibrary::SharedLibrary(std::string soname, std::string needed_for, std::string install)
    : soname_(std::move(soname)), needed_for_(std::move(needed_for)), install_(std::move(install)) {}

void* SharedLibrary::symbol(const char* name) {
  std::call_once(once_, [this] {
    handle_ = dlopen(soname_.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle_) failure_ = dlerror();
  });
  if (!handle_) {
    throw Error(ErrorKind::Environment,
                "cannot load " + soname_ + ", which " + needed_for_ + " needs: " + failure_, soname_,
                install_);
  }
  void* sym = dlsym(handle_, name);
  if (!sym) {
    throw Error(ErrorKind::Environment, soname_ + " has no " + name + " (too old?)", soname_, install_);
  }
  return sym;
}

}  // namespace kcat
