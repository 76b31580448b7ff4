// The op table, in the order of native/torch-backend/op-declarations.json (JavaScript looks ops up by name).
#include "op-declarations.h"

namespace n2n {

const std::vector<OpEntry>& opTable() {
  static const std::vector<OpEntry> table = declaredOps();
  return table;
}

}  // namespace n2n
