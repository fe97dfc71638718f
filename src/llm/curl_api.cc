#include "curl_api.h"

#include <mutex>
#include <string>

#include "kcat/core/error.h"
#include "kcat/core/shared_library.h"

namespace kcat::llm {

const CurlApi& curl_api() {
  static SharedLibrary lib(
      "libcurl.so.4", "the LLM client",
      "install libcurl 7.66 or newer (Debian: apt install libcurl4), or run without an LLM");
  static CurlApi api{};
  static std::once_flag once;
  std::call_once(once, [] {
    auto load = [](auto& fn, const char* name) {
      fn = lib.function<std::remove_reference_t<decltype(fn)>>(name);
    };
    load(api.global_init, "curl_global_init");
    load(api.easy_init, "curl_easy_init");
    load(api.easy_setopt, "curl_easy_setopt");
    load(api.easy_getinfo, "curl_easy_getinfo");
    load(api.easy_perform, "curl_easy_perform");
    load(api.easy_cleanup, "curl_easy_cleanup");
    load(api.easy_strerror, "curl_easy_strerror");
    load(api.slist_append, "curl_slist_append");
    load(api.slist_free_all, "curl_slist_free_all");
    load(api.multi_init, "curl_multi_init");
    load(api.multi_add_handle, "curl_multi_add_handle");
    load(api.multi_remove_handle, "curl_multi_remove_handle");
    load(api.multi_perform, "curl_multi_perform");
    load(api.multi_poll, "curl_multi_poll");
    load(api.multi_info_read, "curl_multi_info_read");
    load(api.multi_cleanup, "curl_multi_cleanup");
    api.global_init(CURL_GLOBAL_DEFAULT);
  });
  return api;
}

}  // namespace kcat::llm
