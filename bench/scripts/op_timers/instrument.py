"""Wraps every public op of a CpuBackend.java source in exact timers (see op_timers.sh).

Each `@Override public T op(args) {` becomes a wrapper that times a call of the renamed body
`op$impl` with System.nanoTime, the calling thread's CPU time and the bytes it allocated, and hands
them to OpTimers.
Calls made on the pool's workers (nested loops) are not counted; an op that calls another public
op counts both. With -Doptimers.shapes=true each op's row is split by the shapes of its tensor
arguments. Reads the source on stdin, writes the instrumented source to stdout.
"""
import re
import sys

SIGNATURE = re.compile(r'    @Override\n    public ([\w.<>]+) (\w+)\(([^)]*)\) \{')
NOT_OPS = {'name'}


def wrap(m):
    returns, name, params = m.groups()
    if name in NOT_OPS:
        return m.group(0)
    names = [p.strip().split()[-1] for p in params.split(',') if p.strip()]
    call = f'{name}$impl({", ".join(names)})'
    key = f'{name}/{len(names)}'
    start = 'long t0 = System.nanoTime(), c0 = OpTimers.cpu(), a0 = OpTimers.allocated();'
    # the shapes (optimers.shapes) are looked up after the clocks stop, so they cost the op nothing
    stop = (f'long t1 = System.nanoTime() - t0, c1 = OpTimers.cpu() - c0, a1 = OpTimers.allocated() - a0; '
            f'OpTimers.add(OpTimers.key("{key}"{"".join(", " + n for n in names)}), t1, c1, a1);')
    body = f'{start} {call}; {stop}' if returns == 'void' else f'{start} {returns} r = {call}; {stop} return r;'
    return (f'    @Override\n    public {returns} {name}({params}) {{ {body} }}\n\n'
            f'    private {returns} {name}$impl({params}) {{')


sys.stdout.write(SIGNATURE.sub(wrap, sys.stdin.read()))
