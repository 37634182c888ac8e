#!/usr/bin/env python3
"""Alternate `git-comm hook pre-commit` of several binaries run by run, same repo and staged
files; CPU = user+sys of the process (wait4). usage: alt_pc.py N repo bindir..."""
import os, sys, subprocess, statistics
n = int(sys.argv[1]); repo = sys.argv[2]; bins = sys.argv[3:]
res = {b: [] for b in bins}; flt = {b: [] for b in bins}
for i in range(n):
    for b in (bins if i % 2 == 0 else bins[::-1]):
        env = dict(os.environ, GIT_COMM_AGENT='bob', PATH=b + ':' + os.environ['PATH'])
        p = subprocess.Popen([b + '/git-comm', 'hook', 'pre-commit'], cwd=repo, env=env)
        _, st, ru = os.wait4(p.pid, 0)
        assert st == 0
        res[b].append((ru.ru_utime + ru.ru_stime) * 1000); flt[b].append(ru.ru_minflt)
for b in bins:
    print(f"{b}: median {statistics.median(res[b]):.3f} ms CPU, mean {statistics.mean(res[b]):.3f}, minflt {statistics.median(flt[b]):.0f} (n={n})")
