// memlock-shim COMMAND [ARG...]: runs COMMAND with every attempt to set RLIMIT_MEMLOCK
// (setrlimit, and prlimit64 with a new limit) answered "done" without doing it, by a seccomp
// filter that COMMAND's children inherit; every other system call runs as usual.
//
// For the tests and benches on a machine whose root lacks CAP_SYS_RESOURCE (a sandbox): the
// OpenTelemetry eBPF profiler sets RLIMIT_MEMLOCK to unlimited before loading its eBPF programs
// and exits when it may not, although since Linux 5.11 the kernel charges eBPF maps to the
// memory cgroup and ignores that limit. test/helpers/peers.ts uses it only there.
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARG_LO(n) (offsetof(struct seccomp_data, args) + 8 * (n))
#define ARG_HI(n) (offsetof(struct seccomp_data, args) + 8 * (n) + 4)

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s COMMAND [ARG...]\n", argv[0]);
    return 2;
  }
  /* x86_64 only; on another architecture everything runs as usual. Jumps count from the next instruction. */
  struct sock_filter filter[] = {
    /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 12),
    /* 2 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    /* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_setrlimit, 0, 2),
    /* 4 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0)),
    /* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, RLIMIT_MEMLOCK, 7, 8),
    /* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_prlimit64, 0, 7),
    /* 7 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(1)),
    /* 8 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, RLIMIT_MEMLOCK, 0, 5),
    /* 9 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(2)),
    /* 10 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2),
    /* 11 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_HI(2)),
    /* 12 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
    /* 13 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 0),
    /* 14 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = { .len = sizeof(filter) / sizeof(filter[0]), .filter = filter };
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
    fprintf(stderr, "memlock-shim: cannot install the seccomp filter: %s\n", strerror(errno));
    return 126;
  }
  execvp(argv[1], argv + 1);
  fprintf(stderr, "memlock-shim: cannot run %s: %s\n", argv[1], strerror(errno));
  return 127;
}
