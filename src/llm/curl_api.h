#pragma once
// libcurl, loaded when the first LLM request is made rather than when kcat starts: libcurl and
// the TLS, Kerberos and LDAP libraries it pulls in are about half of the shared libraries kcat
// would otherwise map at every start (~10 ms of every `kcat scan`; docs/PERFORMANCE.md).
#include <curl/curl.h>

namespace kcat::llm {

struct CurlApi {
  CURLcode (*global_init)(long);
  CURL* (*easy_init)();
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...);
  CURLcode (*easy_perform)(CURL*);
  void (*easy_cleanup)(CURL*);
  const char* (*easy_strerror)(CURLcode);
  curl_slist* (*slist_append)(curl_slist*, const char*);
  void (*slist_free_all)(curl_slist*);
  CURLM* (*multi_init)();
  CURLMcode (*multi_add_handle)(CURLM*, CURL*);
  CURLMcode (*multi_remove_handle)(CURLM*, CURL*);
  CURLMcode (*multi_perform)(CURLM*, int*);
  CURLMcode (*multi_poll)(CURLM*, curl_waitfd[], unsigned int, int, int*);
  CURLMsg* (*multi_info_read)(CURLM*, int*);
  CURLMcode (*multi_cleanup)(CURLM*);
};

// Loads libcurl.so.4 once (thread-safe). Throws Error(Environment) naming the library and the
// package to install when it cannot be loaded.
const CurlApi& curl_api();

}  // namespace kcat::llm
