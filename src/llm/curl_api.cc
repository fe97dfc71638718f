#include "curl_api.h"

#include <dlfcn.h>

#include <mutex>
#include <string>

#include "kcat/core/error.h"

namespace kcat::llm {
namespace {

template <class F>
void load(void* lib, F& fn, const char* name) {
  void* sym = dlsym(lib, name);
  if (!sym) {
    throw Error(ErrorKind::Environment, std::string("libcurl has no ") + name, "libcurl.so.4",
                "install a libcurl 7.66 or newer (Debian: apt install libcurl4)");
  }
  fn = reinterpret_cast<F>(sym);
}

}  // namespace

const CurlApi& curl_api() {
  static CurlApi api{};
  static std::once_flag once;
  static std::string failure;
  std::call_once(once, [] {
    void* lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      failure = dlerror();
      return;
    }
    try {
      load(lib, api.global_init, "curl_global_init");
      load(lib, api.easy_init, "curl_easy_init");
      load(lib, api.easy_setopt, "curl_easy_setopt");
      load(lib, api.easy_getinfo, "curl_easy_getinfo");
      load(lib, api.easy_perform, "curl_easy_perform");
      load(lib, api.easy_cleanup, "curl_easy_cleanup");
      load(lib, api.easy_strerror, "curl_easy_strerror");
      load(lib, api.slist_append, "curl_slist_append");
      load(lib, api.slist_free_all, "curl_slist_free_all");
      load(lib, api.multi_init, "curl_multi_init");
      load(lib, api.multi_add_handle, "curl_multi_add_handle");
      load(lib, api.multi_remove_handle, "curl_multi_remove_handle");
      load(lib, api.multi_perform, "curl_multi_perform");
      load(lib, api.multi_poll, "curl_multi_poll");
      load(lib, api.multi_info_read, "curl_multi_info_read");
      load(lib, api.multi_cleanup, "curl_multi_cleanup");
      api.global_init(CURL_GLOBAL_DEFAULT);
    } catch (const Error& e) {
      failure = e.what();
      api = CurlApi{};
    }
  });
  if (!failure.empty()) {
    throw Error(ErrorKind::Environment, "cannot load libcurl, which the LLM client needs: " + failure,
                "libcurl.so.4", "install it (Debian: apt install libcurl4), or run without an LLM");
  }
  return api;
}

}  // namespace kcat::llm
