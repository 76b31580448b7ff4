// How freed tensor memory goes back to the C library (see memory-policy.cc).
#pragma once

namespace n2n {

// Keeps freed blocks of up to 32 MiB in the heap for reuse instead of unmapping them (addon.cc's Init).
void keepFreedMemory();

}  // namespace n2n
