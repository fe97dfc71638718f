#pragma once
#include <filesystem>

namespace kcat::kb {

// Where the knowledge base lives: $KCAT_DATA_DIR, else <exe>/../share/kcat/patches when
// installed, else the source tree's patches/ (a build-tree binary).
std::filesystem::path default_data_dir();

}  // namespace kcat::kb
