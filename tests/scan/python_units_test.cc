// The statement splitter hands byte ranges to tree-sitter, so every test states the exact units:
// kind, group, flags and the text each one covers (which fixes begin and end, since units tile
// the source in order).
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

// A private header of the scan layer: tests see only include/ and tests/ on their include path.
#include "../../src/scan/python_units.h"

namespace kcat::scan::py {
namespace {

constexpr auto S = Unit::Kind::Statement;
constexpr auto H = Unit::Kind::ClassHeader;
constexpr auto C = Unit::Kind::ClassStatement;

constexpr int kStr = 1;  // starts_with_string
constexpr int kImp = 2;  // has_import

struct Want {
  Unit::Kind kind;
  uint32_t group;
  std::string_view text;
  int flags = 0;
};

std::string escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += c;
    }
  }
  return out;
}

std::string describe(Unit::Kind kind, uint32_t begin, uint32_t end, uint32_t group, bool str, bool imp,
                     std::string_view text) {
  std::string k = kind == S ? "Statement" : kind == H ? "ClassHeader" : "ClassStatement";
  return k + " [" + std::to_string(begin) + "," + std::to_string(end) + ") g" + std::to_string(group) +
         (str ? " str" : "") + (imp ? " imp" : "") + " \"" + escape(text) + "\"";
}

// Splits `src` and compares every field of every unit with `want`.
void expect_units(std::string_view src, const std::vector<Want>& want) {
  std::string joined;
  for (auto& w : want) joined += w.text;
  ASSERT_EQ(escape(joined), escape(src)) << "the expected units must tile the source";
  auto got = split_units(src);
  ASSERT_TRUE(got.has_value()) << "refused: " << escape(src);
  std::vector<std::string> expected, actual;
  uint32_t at = 0;
  for (auto& w : want) {
    auto end = static_cast<uint32_t>(at + w.text.size());
    expected.push_back(describe(w.kind, at, end, w.group, w.flags & kStr, w.flags & kImp, w.text));
    at = end;
  }
  for (auto& u : *got) {
    std::string_view text =
        u.begin <= u.end && u.end <= src.size() ? src.substr(u.begin, u.end - u.begin) : "?";
    actual.push_back(describe(u.kind, u.begin, u.end, u.group, u.starts_with_string, u.has_import, text));
  }
  EXPECT_EQ(actual, expected);
}

void expect_refused(std::string_view src) {
  EXPECT_FALSE(split_units(src).has_value()) << "split: " << escape(src);
}

TEST(PythonUnits, EmptyFileHasNoUnits) {
  auto units = split_units("");
  ASSERT_TRUE(units.has_value());
  EXPECT_TRUE(units->empty());
}

TEST(PythonUnits, CommentsOnlyFileIsOneUnit) {
  expect_units("# a\n\n   # b\n", {{S, 0, "# a\n\n   # b\n"}});
  expect_units("\n\n", {{S, 0, "\n\n"}});
}

TEST(PythonUnits, TopLevelStatementsWithOffsets) {
  std::string_view src = "import os\nfrom a import b\n\nx = 1\ndef f():\n    import json\n    return 1\n";
  auto units = split_units(src);
  ASSERT_TRUE(units.has_value());
  ASSERT_EQ(units->size(), 4u);
  const uint32_t bounds[][2] = {{0, 10}, {10, 27}, {27, 33}, {33, static_cast<uint32_t>(src.size())}};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ((*units)[i].begin, bounds[i][0]) << i;
    EXPECT_EQ((*units)[i].end, bounds[i][1]) << i;
    EXPECT_EQ((*units)[i].group, i) << i;
    EXPECT_EQ((*units)[i].kind, S) << i;
    EXPECT_FALSE((*units)[i].starts_with_string) << i;
  }
  EXPECT_TRUE((*units)[0].has_import);
  EXPECT_TRUE((*units)[1].has_import);
  EXPECT_FALSE((*units)[2].has_import);
  EXPECT_TRUE((*units)[3].has_import);  // an import nested in the def counts
  expect_units(src, {{S, 0, "import os\n", kImp},
                     {S, 1, "from a import b\n\n", kImp},
                     {S, 2, "x = 1\n"},
                     {S, 3, "def f():\n    import json\n    return 1\n", kImp}});
}

TEST(PythonUnits, LeadingCommentsBelongToTheFirstUnit) {
  expect_units(
      "#!/usr/bin/env python\n# c\n\n\"\"\"Doc.\"\"\"\nx = 1\n# trailing\n",
      {{S, 0, "#!/usr/bin/env python\n# c\n\n\"\"\"Doc.\"\"\"\n", kStr}, {S, 1, "x = 1\n# trailing\n"}});
  // Only the very first token decides starts_with_string; `import` later in a line does not count.
  expect_units("b'x'\nx = 'a'\ny = 1; import z\n",
               {{S, 0, "b'x'\n", kStr}, {S, 1, "x = 'a'\n"}, {S, 2, "y = 1; import z\n"}});
}

TEST(PythonUnits, DecoratorsMergeWithWhatFollowsAtTopLevel) {
  expect_units(
      "@a\n@b(1,\n   2)\n# c\n\ndef f():\n    pass\n@c\n"
      "class K: pass\n@d\nasync def g():\n    pass\nx = 1\n",
      {{S, 0, "@a\n@b(1,\n   2)\n# c\n\ndef f():\n    pass\n"},
       {S, 1, "@c\nclass K: pass\n"},
       {S, 2, "@d\nasync def g():\n    pass\n"},
       {S, 3, "x = 1\n"}});
}

TEST(PythonUnits, ClausesContinueTheTopLevelStatement) {
  expect_units(
      "if a:\n    pass\nelif b:\n    pass\nelse:\n    pass\n"
      "try:\n    pass\nexcept* E:\n    pass\nfinally:\n    pass\n"
      "try:\n    import x\nexcept E:\n    pass\n# between\nelse:\n    pass\nfinally:\n    pass\n"
      "for i in y:\n    pass\nelse:\n    pass\n"
      "while z:\n    pass\nelse:\n    pass\n"
      "w = 1\n",
      {{S, 0, "if a:\n    pass\nelif b:\n    pass\nelse:\n    pass\n"},
       {S, 1, "try:\n    pass\nexcept* E:\n    pass\nfinally:\n    pass\n"},
       {S, 2,
        "try:\n    import x\nexcept E:\n    pass\n# between\n"
        "else:\n    pass\nfinally:\n    pass\n",
        kImp},
       {S, 3, "for i in y:\n    pass\nelse:\n    pass\n"},
       {S, 4, "while z:\n    pass\nelse:\n    pass\n"},
       {S, 5, "w = 1\n"}});
}

TEST(PythonUnits, ClassBodyIsSplitIntoStatements) {
  expect_units(
      "import os\n"
      "class A(B):\n"
      "    \"\"\"Doc.\"\"\"\n"
      "\n"
      "    x = 1\n"
      "# a column-0 comment inside the body\n"
      "    @property\n"
      "    @other(\n"
      "1)\n"
      "    def f(self):\n"
      "        return 1\n"
      "\n"
      "    def g(self):\n"
      "        try:\n"
      "            pass\n"
      "        except E:\n"
      "            pass\n"
      "    if TYPE_CHECKING:\n"
      "        from t import T\n"
      "    elif X:\n"
      "        T = 1\n"
      "    else:\n"
      "        T = None\n"
      "    try:\n"
      "        import numpy\n"
      "    except* ImportError:\n"
      "        numpy = None\n"
      "    finally:\n"
      "        pass\n"
      "    class Inner:\n"
      "        y = 2\n"
      "        def m(self):\n"
      "            pass\n"
      "    async def h(self):\n"
      "        pass\n"
      "z = 3\n",
      {{S, 0, "import os\n", kImp},
       {H, 1, "class A(B):\n"},
       {C, 1, "    \"\"\"Doc.\"\"\"\n\n", kStr},
       {C, 1, "    x = 1\n# a column-0 comment inside the body\n"},
       {C, 1, "    @property\n    @other(\n1)\n    def f(self):\n        return 1\n\n"},
       {C, 1, "    def g(self):\n        try:\n            pass\n        except E:\n            pass\n"},
       {C, 1,
        "    if TYPE_CHECKING:\n        from t import T\n"
        "    elif X:\n        T = 1\n    else:\n"
        "        T = None\n",
        kImp},
       {C, 1,
        "    try:\n        import numpy\n"
        "    except* ImportError:\n        numpy = None\n"
        "    finally:\n        pass\n",
        kImp},
       {C, 1, "    class Inner:\n        y = 2\n        def m(self):\n            pass\n"},
       {C, 1, "    async def h(self):\n        pass\n"},
       {S, 2, "z = 3\n"}});
}

TEST(PythonUnits, DecoratedClassHeaderKeepsDecoratorsAndLeadingComments) {
  expect_units(
      "@dataclass\n@final\nclass P(\n    Base,\n):  # why\n"
      "    # header comment\n\n    a: int\n    b: int = 0\n",
      {{H, 0, "@dataclass\n@final\nclass P(\n    Base,\n):  # why\n    # header comment\n\n"},
       {C, 0, "    a: int\n"},
       {C, 0, "    b: int = 0\n"}});
}

TEST(PythonUnits, ClassesWithoutAnIndentedBlockAreNotSplit) {
  expect_units("class A: pass\nclass B:  x = 1; y = 2\nclass C: \\\n    pass\nclass D:\npass\nclass E:\n",
               {{S, 0, "class A: pass\n"},
                {S, 1, "class B:  x = 1; y = 2\n"},
                {S, 2, "class C: \\\n    pass\n"},  // one logical line: the body is on the header line
                {S, 3, "class D:\n"},
                {S, 4, "pass\n"},
                {S, 5, "class E:\n"}});
  // A class that is not a top-level statement stays inside its unit.
  expect_units("def f():\n    class A:\n        x = 1\n    return A\nif x:\n    class B:\n        pass\n",
               {{S, 0, "def f():\n    class A:\n        x = 1\n    return A\n"},
                {S, 1, "if x:\n    class B:\n        pass\n"}});
}

TEST(PythonUnits, InconsistentClassBodyIndentIsRefused) {
  expect_refused("class A:\n    x = 1\n  y = 2\n");
  expect_refused("class A:\n\tx = 1\n        y = 2\n");
  expect_refused("class A:\n        x = 1\n\ty = 2\n");
  // A clause after a class body is invalid and must not land in a ClassStatement unit.
  expect_refused("class A:\n    x = 1\nelse:\n    pass\n");
}

TEST(PythonUnits, TabsIndentClassBodies) {
  expect_units("class A:\n\tx = 1\n\tdef f(self):\n\t\treturn 1\n\t# c\ny = 2\n",
               {{H, 0, "class A:\n"},
                {C, 0, "\tx = 1\n"},
                {C, 0, "\tdef f(self):\n\t\treturn 1\n\t# c\n"},
                {S, 1, "y = 2\n"}});
  // Tabs then spaces: deeper lines only have to start with the body's indent.
  expect_units("class A:\n\tdef f(self):\n\t    return 1\n",
               {{H, 0, "class A:\n"}, {C, 0, "\tdef f(self):\n\t    return 1\n"}});
}

TEST(PythonUnits, StringsHideCommentsBracketsAndQuotes) {
  expect_units(
      "a = '# not a comment (' + \"[\"\nb = 'it\\'s'  # )\n"
      "c = \"\\\"\\n\" + ''\nd = 'line\\\ncontinued'\ne = 1\n",
      {{S, 0, "a = '# not a comment (' + \"[\"\n"},
       {S, 1, "b = 'it\\'s'  # )\n"},
       {S, 2, "c = \"\\\"\\n\" + ''\n"},
       {S, 3, "d = 'line\\\ncontinued'\n"},
       {S, 4, "e = 1\n"}});
}

TEST(PythonUnits, TripleQuotedStringsWithColumnZeroContent) {
  expect_units(
      "x = \"\"\"\ndef not_code():\n'''\n\"\"\"\ny = '''\n"
      "class Z:\n    \"\"\"\n'''\nz = \"\"\"a\\\"\"\"\n"
      "b\"\"\"\nw = 1\n",
      {{S, 0, "x = \"\"\"\ndef not_code():\n'''\n\"\"\"\n"},
       {S, 1, "y = '''\nclass Z:\n    \"\"\"\n'''\n"},
       {S, 2, "z = \"\"\"a\\\"\"\"\nb\"\"\"\n"},
       {S, 3, "w = 1\n"}});
  // A class docstring with column-0 lines is one body statement.
  expect_units(
      "class A:\n    \"\"\"Doc.\n\nx = 1\n    \"\"\"\n    y = 2\n",
      {{H, 0, "class A:\n"}, {C, 0, "    \"\"\"Doc.\n\nx = 1\n    \"\"\"\n", kStr}, {C, 0, "    y = 2\n"}});
}

TEST(PythonUnits, RawStringsStillEscapeQuotes) {
  expect_units(
      "r = r\"\\\"\"\ns = R'\\'' + rb\"\\\\\"\n"
      "t = Rb'''\\''' '''\nu = BR\"(\" + Br'x'\nv = ur'('\n",
      {{S, 0, "r = r\"\\\"\"\n"},
       {S, 1, "s = R'\\'' + rb\"\\\\\"\n"},
       {S, 2, "t = Rb'''\\''' '''\n"},
       {S, 3, "u = BR\"(\" + Br'x'\n"},
       {S, 4, "v = ur'('\n"}});  // `ur` is a name, then the string '('
}

TEST(PythonUnits, FStrings) {
  expect_units(
      "a = f\"{x[\"key\"]!r:>{width}} {{literal}} {'#'} {f'{y}'} {\"}\"}\"\n"
      "b = f'{\"\\n\".join(z)}' + F\"{{\" + f'}}'\n"
      "c = rf\"\\{d}\" + fR'{e!s}'\n"
      "g = f\"\\N{BULLET} {h}\"\n"
      "i = F'''{\n"
      "j  # comment inside a replacement field\n"
      "}'''\n"
      "k = f\"{l:{'>'}{10}}\" + f\"{m:=5}\"\n"
      "n = f\"{\"\"\"\n"
      "o = 1\n"
      "\"\"\"}\"\n"
      "p = f\"{f\"{f\"{q}\"}\"}\" + f\"{ {'a': 1}['a'] }\"\n"
      "r = t\"{s}\"\n",
      {{S, 0, "a = f\"{x[\"key\"]!r:>{width}} {{literal}} {'#'} {f'{y}'} {\"}\"}\"\n"},
       {S, 1, "b = f'{\"\\n\".join(z)}' + F\"{{\" + f'}}'\n"},
       {S, 2, "c = rf\"\\{d}\" + fR'{e!s}'\n"},
       {S, 3, "g = f\"\\N{BULLET} {h}\"\n"},
       {S, 4, "i = F'''{\nj  # comment inside a replacement field\n}'''\n"},
       {S, 5, "k = f\"{l:{'>'}{10}}\" + f\"{m:=5}\"\n"},
       {S, 6, "n = f\"{\"\"\"\no = 1\n\"\"\"}\"\n"},
       {S, 7, "p = f\"{f\"{f\"{q}\"}\"}\" + f\"{ {'a': 1}['a'] }\"\n"},
       {S, 8, "r = t\"{s}\"\n"}});
  // Same-quote nesting (Python 3.12) over several lines of a single-quoted f-string's field.
  expect_units("x = f\"{\", \".join([\n    'a',  # c\n])}\"\ny = 2\n",
               {{S, 0, "x = f\"{\", \".join([\n    'a',  # c\n])}\"\n"}, {S, 1, "y = 2\n"}});
}

TEST(PythonUnits, BracketedExpressionsSpanColumnZeroLines) {
  expect_units(
      "x = [\n1,\n  2,\n]\ny = foo(a,\n# comment\nb)\nz = {\n"
      "'k': (1,\n2)}\nclass A(\nB):\n    pass\n",
      {{S, 0, "x = [\n1,\n  2,\n]\n"},
       {S, 1, "y = foo(a,\n# comment\nb)\n"},
       {S, 2, "z = {\n'k': (1,\n2)}\n"},
       {H, 3, "class A(\nB):\n"},
       {C, 3, "    pass\n"}});
}

TEST(PythonUnits, BackslashContinuations) {
  expect_units("x = 1 + \\\n2\ny = 3 \\\r\n+ 4\nassert a, \\\n    'b'\nz = 5\n",
               {{S, 0, "x = 1 + \\\n2\n"},
                {S, 1, "y = 3 \\\r\n+ 4\n"},
                {S, 2, "assert a, \\\n    'b'\n"},
                {S, 3, "z = 5\n"}});
  // Inside a class body too: the continued line is not a body statement.
  expect_units("class A:\n    x = \\\ny\n    z = 1\n",
               {{H, 0, "class A:\n"}, {C, 0, "    x = \\\ny\n"}, {C, 0, "    z = 1\n"}});
}

TEST(PythonUnits, CrLfIsANewlineAndLoneCrOutsideStringsIsRefused) {
  expect_units("import a\r\nclass A:\r\n    x = 1\r\n\r\n    def f(self):\r\n        pass\r\ny = 2\r\n",
               {{S, 0, "import a\r\n", kImp},
                {H, 1, "class A:\r\n"},
                {C, 1, "    x = 1\r\n\r\n"},
                {C, 1, "    def f(self):\r\n        pass\r\n"},
                {S, 2, "y = 2\r\n"}});
  // Python reads a lone CR as a newline but tree-sitter-python does not (it is indent whitespace to
  // its scanner, and comments run to \n): outside strings the two disagree, so it is refused.
  expect_refused("x = 1\ry = 2\n");
  expect_refused("x = 1  # c\ry = 2\n");
  expect_refused("x = (1,\r2)\n");
  expect_refused("x = 1 + \\\r2\n");
  expect_refused("x = 'a\rb'\n");  // to Python, a single-quoted string cut by a newline
  // Inside a triple-quoted string it is text to both.
  expect_units("x = '''\r'''\r\ny = f\"\"\"\r{z}\"\"\"\n",
               {{S, 0, "x = '''\r'''\r\n"}, {S, 1, "y = f\"\"\"\r{z}\"\"\"\n"}});
}

TEST(PythonUnits, ByteOrderMarkIsWhitespace) {
  expect_units("\xEF\xBB\xBFimport os\nx = 1\n",
               {{S, 0, "\xEF\xBB\xBFimport os\n", kImp}, {S, 1, "x = 1\n"}});
  expect_units("\xEF\xBB\xBF\"\"\"Doc.\"\"\"\n", {{S, 0, "\xEF\xBB\xBF\"\"\"Doc.\"\"\"\n", kStr}});
  expect_units("\xEF\xBB\xBF# c\nclass A:\n    x = 1\n",
               {{H, 0, "\xEF\xBB\xBF# c\nclass A:\n"}, {C, 0, "    x = 1\n"}});
  expect_units(
      "\xEF\xBB\xBF"
      "class A:\n    x = 1\n",
      {{H, 0,
        "\xEF\xBB\xBF"
        "class A:\n"},
       {C, 0, "    x = 1\n"}});
  expect_units("\xEF\xBB\xBF", {{S, 0, "\xEF\xBB\xBF"}});
}

TEST(PythonUnits, NulBytesAreRefusedAndInvalidUtf8IsSplit) {
  using namespace std::string_view_literals;
  // Python rejects any NUL in source; tree-sitter scanners may read one as the end of input.
  expect_refused("x = 1\n\0\n"sv);
  expect_refused("s = '\0'\n"sv);
  expect_refused("# \0\n"sv);
  expect_refused("x = 1\v\n");  // other control characters outside strings as well
  expect_units("x = '\xff\xfe'  # \xc3\n\xc3\xa9t\xe9 = 1\n",
               {{S, 0, "x = '\xff\xfe'  # \xc3\n"}, {S, 1, "\xc3\xa9t\xe9 = 1\n"}});
}

TEST(PythonUnits, MatchCaseAndAsync) {
  expect_units(
      "match cmd:\n    case [x]:\n        pass\n    case _:\n        pass\nmatch = 1\n"
      "async def f():\n    async with a:\n        await g()\nasync def h():\n    pass\n",
      {{S, 0, "match cmd:\n    case [x]:\n        pass\n    case _:\n        pass\n"},
       {S, 1, "match = 1\n"},
       {S, 2, "async def f():\n    async with a:\n        await g()\n"},
       {S, 3, "async def h():\n    pass\n"}});
}

TEST(PythonUnits, FormFeedIndentIsRefusedButBlankFormFeedLinesAreNot) {
  expect_refused("x = 1\n\fy = 2\n");
  expect_refused("class A:\n    x = 1\n\f    y = 2\n");
  expect_units("x = 1\n\f\ny = 2\n", {{S, 0, "x = 1\n\f\n"}, {S, 1, "y = 2\n"}});
}

TEST(PythonUnits, UnlexableSourcesAreRefused) {
  expect_refused("x = 'abc\n");             // a newline in a single-quoted string
  expect_refused("x = 'abc");               // unterminated at the end of the file
  expect_refused("x = \"\"\"abc\n");        // unterminated triple-quoted string
  expect_refused("x = 'abc\\");             // an escape at the end of the file
  expect_refused("x = f\"{a\n");            // unterminated f-string expression
  expect_refused("x = f'''{a}\n");          // unterminated f-string
  expect_refused("x = f'{x:'\n");           // the string ends inside a format spec
  expect_refused("x = f'a } b'\n");         // a single `}` in an f-string
  expect_refused("x = f'{a'}\n");           // the nested string '}\n never ends
  expect_refused("x = (1,\n2\n");           // bracket depth 1 at the end of the file
  expect_refused("x = 1)\n");               // a closing bracket with nothing open
  expect_refused("x = (1]\n");              // mismatched brackets
  expect_refused("x = {1: f'{a)}'}\n");     // `)` closing a replacement field
  expect_refused("x = 1 + \\\n");           // a continuation at the end of the file
  expect_refused("x = 1 + \\\n   ");        // ... followed by blanks only
  expect_refused("x = 1 + \\");             // a backslash at the end of the file
  expect_refused("x = 1 \\ + 2\n");         // a backslash that does not end its line
  expect_refused("\\\nx = 1\n");            // a continuation before a logical line's first token
  expect_refused("x = f\"\\N{BULLET\"\n");  // \N{ without its closing brace
}

TEST(PythonUnits, SyntaxErrorsThatLexAreStillSplit) {
  expect_units("def f() -> :\n    pass\nx = = 1\n  y\n",
               {{S, 0, "def f() -> :\n    pass\n"}, {S, 1, "x = = 1\n  y\n"}});
  expect_units("  x = 1\ny = 2\n", {{S, 0, "  x = 1\n"}, {S, 1, "y = 2\n"}});
}

// Realistic modules for the property test below.
const char* const kModule = R"py(#!/usr/bin/env python
# Copyright (c) Example.
"""A module that looks like real code."""
from __future__ import annotations

import os
import sys
from typing import (
    Any,
    Optional,
)

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

LOG = {"level": 'info', "fmt": f"{os.sep!r:>4}"}


@dataclass(frozen=True)
class Config(Base, metaclass=Meta):
    """Settings.

Column-0 text in a docstring.
    """

    name: str = "x"
    size: int = 3  # default

    @property
    def path(self) -> str:
        return os.path.join(self.name, f"{self.size:04d}.bin")

    @classmethod
    def load(cls, p):
        with open(p) as f:
            data = f.read()
        if not data:
            raise ValueError("empty file: " + repr(p))
        elif data.startswith("#"):
            return None
        else:
            return cls(**json.loads(data))

    if sys.version_info >= (3, 11):
        def new(self):
            return Config(self.name,
self.size)
    else:
        new = None


def main(argv: Optional[list[str]] = None) -> int:
    args = argv or sys.argv[1:]
    total = sum(
        len(a)
        for a in args
    ) + \
        len(args)
    print(f"{total=} {'; '.join(args)} {{braces}}")
    match args:
        case [x, *rest]:
            return len(rest)
        case _:
            return 0


async def serve(host='0.0.0.0', port=8080):
    await asyncio.sleep(0)


if __name__ == "__main__":
    sys.exit(main())
)py";

const char* const kTabbed =
    "import re\n"
    "class Parser:\n"
    "\tPATTERN = re.compile(r'''(\\d+)\n"
    "\\s*''')\n"
    "\n"
    "\tdef parse(self, s):\n"
    "\t\tfor m in self.PATTERN.finditer(s):\n"
    "\t\t\tyield int(m.group(1))\n"
    "\t\telse:\n"
    "\t\t\treturn\n"
    "\t@staticmethod\n"
    "\tdef quote(s):\n"
    "\t\treturn '\"' + s.replace('\"', '\\\\\"') + '\"'\n"
    "def helper():\n"
    "\treturn Parser()\n";

std::string with_newlines(std::string_view src, std::string_view nl) {
  std::string out;
  for (char c : src) {
    if (c == '\n') {
      out += nl;
    } else {
      out += c;
    }
  }
  return out;
}

// Units returned for `src` tile it, start at line starts and carry consistent groups.
void check_tiling(std::string_view src) {
  auto units = split_units(src);
  if (!units) return;
  if (src.empty()) {
    EXPECT_TRUE(units->empty());
    return;
  }
  ASSERT_FALSE(units->empty());
  EXPECT_EQ(units->front().begin, 0u);
  EXPECT_EQ(units->back().end, src.size());
  for (size_t i = 0; i < units->size(); ++i) {
    const Unit& u = (*units)[i];
    EXPECT_LT(u.begin, u.end) << i;
    EXPECT_TRUE(u.begin == 0 || src[u.begin - 1] == '\n' || src[u.begin - 1] == '\r') << i;
    if (i == 0) continue;
    const Unit& prev = (*units)[i - 1];
    EXPECT_EQ(prev.end, u.begin) << i;
    if (u.kind == C) {
      EXPECT_NE(prev.kind, S) << i;
      EXPECT_EQ(prev.group, u.group) << i;
    } else {
      EXPECT_NE(prev.kind, H) << i;
      EXPECT_EQ(prev.group + 1, u.group) << i;
    }
  }
}

TEST(PythonUnits, UnitsTileRealisticSourcesAndAllTheirPrefixes) {
  EXPECT_FALSE(split_units(with_newlines(kModule, "\r")).has_value());  // lone CRs
  std::vector<std::string> sources = {kModule, with_newlines(kModule, "\r\n"), kTabbed,
                                      "\xEF\xBB\xBF" + std::string(kTabbed)};
  for (auto& src : sources) {
    auto units = split_units(src);
    ASSERT_TRUE(units.has_value()) << escape(src);
    check_tiling(src);
    // Every prefix: whatever is returned must still tile exactly (and nothing may crash).
    for (size_t n = 0; n < src.size(); ++n) {
      check_tiling(std::string_view(src).substr(0, n));
      if (HasFailure()) FAIL() << "prefix of " << n << " bytes";
    }
  }
  auto module = split_units(kModule);
  ASSERT_TRUE(module.has_value());
  size_t headers = 0, body = 0;
  for (auto& u : *module) {
    headers += u.kind == H;
    body += u.kind == C;
  }
  EXPECT_EQ(headers, 1u);
  EXPECT_EQ(body, 6u);  // docstring, name, size, path, load, if/else
  auto tabbed = split_units(kTabbed);
  ASSERT_TRUE(tabbed.has_value());
  ASSERT_EQ(tabbed->size(), 6u);  // import, header, PATTERN, parse, quote, helper
}

}  // namespace
}  // namespace kcat::scan::py
