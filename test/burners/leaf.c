/* A three-deep chain whose hot leaf gcc compiles without a frame of its own (-O2, even with
 * -fno-omit-frame-pointer): main -> pl_leaf_outer -> pl_leaf_middle -> pl_leaf_hot. The calls
 * are not tail calls (each caller uses the result), so every function is on the stack. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline, noclone)) unsigned long pl_leaf_hot(unsigned long x) {
  for (int i = 0; i < 4000; i++) x = x * 6364136223846793005UL + 1442695040888963407UL;
  return x;
}

__attribute__((noinline, noclone)) unsigned long pl_leaf_middle(unsigned long x) {
  return pl_leaf_hot(x) ^ (x >> 7);
}

__attribute__((noinline, noclone)) unsigned long pl_leaf_outer(unsigned long x) {
  return pl_leaf_middle(x) + (x << 3);
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 10;
  unsigned long s = 1;
  for (unsigned long n = 0; n < (unsigned long)(seconds * 100000); n++) s = pl_leaf_outer(s);
  printf("%lu\n", s);
  return 0;
}
