/* libFuzzer's driver, for a program that has its own main (SwiftPM names an executable's entry
 * `<Target>_main` on Linux): it runs the fuzzing loop over LLVMFuzzerTestOneInput. */
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));
