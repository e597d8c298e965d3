"""benchmark.py --quick keeps working (a smoke run of every section, not a timing test)."""
import re

from conftest import run_script


def test_benchmark_quick_runs_every_section(tmp_path):
    out = tmp_path / 'report.md'
    proc = run_script('benchmark.py', '--quick', '--markdown', str(out))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = out.read_text()
    for section in ('train.py whole process', 'training step (steady state)', 'inference, 48 test samples', "LMF vs TFN, paper's setting",
                    'training samples/s vs rank'):
        assert section in report, report
    assert re.search(r'\| parameters \| LMF 237,157 / TFN 9,313,877 \| .*1/39\.3', report), report
    assert 'p50' in report and 'p99' in report and 'MB' in report
    if 'PyTorch mirror' in report:  # torch installed: the mirror must compute the same probabilities
        diff = float(re.search(r'max \|prob difference\| on 64 samples: ([0-9.e+-]+)', report).group(1))
        assert diff < 1e-5
