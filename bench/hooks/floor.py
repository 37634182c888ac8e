#!/usr/bin/env python3
"""Commits alternated one by one across repos set up differently (CPU = user+sys of git and
its children, wait4). usage: floor.py ROUNDS label=repo[:bindir] ..."""
import os, sys, subprocess, statistics
n = int(sys.argv[1])
setups = [a.split('=', 1) for a in sys.argv[2:]]
def env(bindir):
    e = dict(os.environ, GIT_COMM_AGENT='bob')
    if bindir: e['PATH'] = bindir + ':' + os.environ['PATH']
    return e
def commit(repo, bindir):
    subprocess.run([os.path.join(os.path.dirname(os.path.abspath(__file__)), 'stage.sh'), repo], check=True)
    p = subprocess.Popen(['git', 'commit', '-q', '-m', 'b'], cwd=repo, env=env(bindir), stdout=subprocess.DEVNULL)
    _, st, ru = os.wait4(p.pid, 0); assert st == 0
    return (ru.ru_utime + ru.ru_stime) * 1000
res = {label: [] for label, _ in setups}
parsed = [(label, *(spec.split(':') + [''])[:2]) for label, spec in setups]
for _ in range(3):
    for label, repo, b in parsed: commit(repo, b)
for i in range(n):
    order = parsed if i % 2 == 0 else parsed[::-1]
    for label, repo, b in order: res[label].append(commit(repo, b))
base = statistics.median(res[parsed[-1][0]])
for label, _, _ in parsed:
    m = statistics.median(res[label])
    print(f"{label}: median {m:.2f} ms CPU (n={n}), +{m-base:.2f} ms, ratio {m/base:.3f}x")
