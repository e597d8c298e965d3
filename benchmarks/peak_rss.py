"""Run a Python script as `python script.py args...` from the repository root would, and write its peak resident
memory in MB (VmHWM) to OUT_FILE at exit (benchmark helper): python benchmarks/peak_rss.py OUT_FILE script.py [args...]
VmHWM belongs to the memory map made at exec, so unlike wait4's ru_maxrss it does not include the parent's memory.
"""
import atexit
import os
import runpy
import sys


def write_peak(path):
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith('VmHWM:'):
                with open(path, 'w') as out:
                    out.write(str(int(line.split()[1]) / 1024.0))


if __name__ == '__main__':
    out_file, script = sys.argv[1], sys.argv[2]
    atexit.register(write_peak, out_file)
    sys.argv = sys.argv[2:]
    sys.path[:1] = [os.path.dirname(os.path.abspath(script)), os.getcwd()]
    runpy.run_path(script, run_name='__main__')
