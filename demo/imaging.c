/*
 * Pilotlight demo: "demo-imaging", a native program that blurs, sharpens and encodes a
 * grey-scale image over and over, resting as long as it worked (about half a core).
 * Built by `pilotlight up --demo` with -O0 -fno-omit-frame-pointer so every function keeps a
 * frame and the eBPF frame-pointer walk sees the whole chain. The hot functions:
 *   main -> imaging_process_frame -> imaging_blur_rows            (most samples)
 *   main -> imaging_process_frame -> imaging_sharpen
 *   main -> imaging_process_frame -> imaging_encode_block
 *
 * Started by `pilotlight up`, it exits when its parent is gone (PILOTLIGHT_PARENT_PID).
 */
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define W 256
#define H 256

static unsigned char image[H][W];
static unsigned char scratch[H][W];
volatile unsigned long imaging_sink;

void imaging_blur_rows(void) {
  for (int pass = 0; pass < 3; pass++) {
    for (int y = 1; y < H - 1; y++)
      for (int x = 1; x < W - 1; x++)
        scratch[y][x] = (unsigned char)((image[y - 1][x] + image[y + 1][x] + image[y][x - 1] + image[y][x + 1] + 4 * image[y][x]) / 8);
    for (int y = 1; y < H - 1; y++)
      for (int x = 1; x < W - 1; x++) image[y][x] = scratch[y][x];
  }
}

void imaging_sharpen(void) {
  for (int y = 1; y < H - 1; y++)
    for (int x = 1; x < W - 1; x++) {
      int v = 5 * image[y][x] - image[y - 1][x] - image[y + 1][x] - image[y][x - 1] - image[y][x + 1];
      scratch[y][x] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
}

unsigned long imaging_encode_block(void) {
  unsigned long h = 1469598103934665603UL;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) h = (h ^ scratch[y][x]) * 1099511628211UL;
  return h;
}

void imaging_process_frame(unsigned int seed) {
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) image[y][x] = (unsigned char)((x * 7 + y * 13 + seed) & 0xff);
  imaging_blur_rows();
  imaging_sharpen();
  imaging_sink += imaging_encode_block();
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void quit(int sig) {
  (void)sig;
  _exit(0);
}

int main(void) {
  signal(SIGINT, quit);
  signal(SIGTERM, quit);
  const char *p = getenv("PILOTLIGHT_PARENT_PID");
  pid_t parent = p ? (pid_t)atoi(p) : 0;
  for (unsigned int seed = 0;; seed++) {
    if (parent > 0 && getppid() != parent) return 0;
    double t0 = now();
    /* ~50 ms of work, then rest as long: about half a core on an idle machine. */
    while (now() - t0 < 0.05) imaging_process_frame(seed++);
    double worked = now() - t0;
    struct timespec rest = {0, (long)(worked * 1e9)};
    nanosleep(&rest, NULL);
  }
}
