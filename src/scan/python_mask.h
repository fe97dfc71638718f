#pragma once
// What kind of tensor an SDPA attn_mask expression is, as far as the source shows: the NPU takes
// only a boolean mask when attention is not causal (Ascend/pytorch:docs/zh/api/native_api/
// pytorch_2-7-1/torch-nn-functional.md#L551-590).
#include <tree_sitter/api.h>

#include <string_view>

namespace kcat::scan::py {

enum class MaskKind { Bool, Float, Unknown };

// `scope` is the enclosing function (or module): the last assignment before `e` to a name decides
// that name's kind. A name containing "bias", arithmetic, `.to(x.dtype)`, `-inf` fills: Float.
MaskKind classify_mask(TSNode e, TSNode scope, std::string_view src, int depth = 0);

}  // namespace kcat::scan::py
