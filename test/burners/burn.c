/*
 * A CPU burner with a known call chain for the sampler tests and benchmark:
 * main -> pl_burn_outer -> pl_burn_inner. Built with -O0 -fno-omit-frame-pointer so every
 * function has a frame (at -O1 gcc leaves the leaf frameless and the frame-pointer walk
 * skips its caller).
 *
 * Usage: burn [SECONDS [COPIES]]  (default 60 s: a burner left behind by a crashed test still
 * ends). COPIES > 1 forks that many burner processes (fast even when the machine is already
 * busy, unlike spawning them one by one) and waits for them. Each process prints
 * "iterations N" when done, so throughput can be compared with and without sampling.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

volatile unsigned long pl_sink;

void pl_burn_inner(void) {
  for (int i = 0; i < 1000; i++) pl_sink += (unsigned long)i * i;
}

unsigned long pl_burn_outer(double seconds) {
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  unsigned long n = 0;
  for (;;) {
    for (int k = 0; k < 1000; k++) pl_burn_inner();
    n += 1000;
    clock_gettime(CLOCK_MONOTONIC, &t);
    if ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 >= seconds) return n;
  }
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 60;
  int copies = argc > 2 ? atoi(argv[2]) : 1;
  if (copies > 1) {
    fflush(stdout);
    for (int i = 0; i < copies; i++) {
      if (fork() == 0) {
        printf("iterations %lu\n", pl_burn_outer(seconds));
        return 0;
      }
    }
    while (wait(NULL) > 0) {
    }
    return 0;
  }
  unsigned long n = pl_burn_outer(seconds);
  printf("iterations %lu\n", n);
  return 0;
}
