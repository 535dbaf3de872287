"""CUDA-event timing for the peer scripts (gemm_torch.py, attention_torch.py): a callable run 3
times untimed, then `reps` times between events recorded on the current stream."""
import torch


def time_ms(run, reps):
    """The median, fastest and slowest of `reps` timed calls of `run`, in milliseconds."""
    for _ in range(3):
        run()
    events = [torch.cuda.Event(enable_timing=True) for _ in range(reps + 1)]
    events[0].record()
    for i in range(reps):
        run()
        events[i + 1].record()
    torch.cuda.synchronize()
    ms = sorted(events[i].elapsed_time(events[i + 1]) for i in range(reps))
    return (ms[(reps - 1) // 2] + ms[reps // 2]) / 2, ms[0], ms[-1]
