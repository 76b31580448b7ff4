// The op table: every op file's list, joined once (JavaScript looks ops up by name).
#include "op-helpers.h"

namespace n2n {

const std::vector<OpEntry>& opTable() {
  static const std::vector<OpEntry> table = [] {
    std::vector<OpEntry> all;
    for (auto list : {elementwiseOps(), shapeOps(), reduceOps(), convPoolOps(), normalizationOps()}) {
      all.insert(all.end(), list.begin(), list.end());
    }
    return all;
  }();
  return table;
}

}  // namespace n2n
