#!/usr/bin/env python3
"""`git-comm hook pre-commit` on a fresh change set each run (staged, cache-tree completed by
write-tree as git commit does, then committed with hooks off), binaries alternated.
usage: fresh_pc.py N repo bindir..."""
import os, sys, subprocess, statistics
n = int(sys.argv[1]); repo = sys.argv[2]; bins = sys.argv[3:]
here = os.path.dirname(os.path.abspath(__file__))  # stage.sh lives beside this file
res = {b: [] for b in bins}; flt = {b: [] for b in bins}
def q(*a): subprocess.run(a, cwd=repo, check=True, stdout=subprocess.DEVNULL)
for i in range(n + 2):
    for b in (bins if i % 2 == 0 else bins[::-1]):
        q('bash', os.path.join(here, 'stage.sh'), repo); q('git', 'write-tree')
        env = dict(os.environ, GIT_COMM_AGENT='bob', PATH=b + ':' + os.environ['PATH'])
        p = subprocess.Popen([b + '/git-comm', 'hook', 'pre-commit'], cwd=repo, env=env)
        _, st, ru = os.wait4(p.pid, 0)
        assert st == 0
        q('git', '-c', 'core.hooksPath=/dev/null', 'commit', '-q', '-m', 'x')
        if i >= 2:
            res[b].append((ru.ru_utime + ru.ru_stime) * 1000); flt[b].append(ru.ru_minflt)
for b in bins:
    print(f"{b}: median {statistics.median(res[b]):.3f} ms CPU, mean {statistics.mean(res[b]):.3f}, minflt {statistics.median(flt[b]):.0f} (n={n})")
