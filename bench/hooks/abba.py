#!/usr/bin/env python3
"""Two binaries, two hooked repos, swapped half way (cancels what differs between the repos), plus
a repo without hooks; commits alternated one by one. CPU = user+sys of git and its children
(wait4 rusage). usage: abba.py ROUNDS_PER_PHASE bindirA bindirB repoX repoY repoNone"""
import os, sys, subprocess, statistics
n = int(sys.argv[1]); A, B, X, Y, N = sys.argv[2:7]
def env(bindir): return dict(os.environ, GIT_COMM_AGENT='bob', PATH=bindir + ':' + os.environ['PATH'])
def install(bindir, repo):
    subprocess.run([bindir + '/git-comm', 'hooks', 'install'], cwd=repo, env=env(bindir), check=True, stdout=subprocess.DEVNULL)
PERF = os.environ.get('PERF') == '1'
def commit(bindir, repo):
    subprocess.run([os.path.join(os.path.dirname(os.path.abspath(__file__)), 'stage.sh'), repo], check=True)
    if PERF:
        out = subprocess.run(['perf', 'stat', '-x', ',', '-e', 'task-clock,page-faults', 'git', 'commit', '-q', '-m', 'b'],
                             cwd=repo, env=env(bindir), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True).stderr
        vals = {l.split(',')[2].split(':')[0]: float(l.split(',')[0]) for l in out.splitlines() if l.count(',') > 2}
        return vals['task-clock'], vals['page-faults']
    p = subprocess.Popen(['git', 'commit', '-q', '-m', 'b'], cwd=repo, env=env(bindir), stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    assert status == 0
    return (ru.ru_utime + ru.ru_stime) * 1000, ru.ru_minflt
res = {'A': [], 'B': [], 'none': []}; pf = {'A': [], 'B': [], 'none': []}
for phase in ((A, X, B, Y), (A, Y, B, X)):
    a, ra, b, rb = phase
    install(a, ra); install(b, rb)
    for _ in range(3): commit(a, ra); commit(b, rb); commit(a, N)
    for _ in range(n):
        for key, bindir, repo in (('A', a, ra), ('B', b, rb), ('none', a, N)):
            cpu, flt = commit(bindir, repo); res[key].append(cpu); pf[key].append(flt)
base = statistics.median(res['none'])
for key in ('A', 'B', 'none'):
    m = statistics.median(res[key])
    print(f"{key}: median {m:.2f} ms CPU (n={len(res[key])}), minflt {statistics.median(pf[key]):.0f}, ratio {m/base:.3f}x")
