"""The docs checked against the code, not their wording: links resolve, commands run scripts that take their flags,
the file map is the layout, `module.name`s exist, hyperparameter tables are lmf/hparams.py's, output blocks are what
the scripts print, and the README's numbers are results/RESULTS.md's."""
import argparse
import contextlib
import fnmatch
import functools
import glob
import importlib
import importlib.util
import io
import math
import os
import re
import shlex
import sys
from decimal import Decimal
from unittest import mock

import pytest

from helpers import REPO

MAX_README_CHARS = 15500  # details go to docs/; this number is not raised
README = os.path.join(REPO, 'README.md')
DOCS = ([README] + sorted(glob.glob(os.path.join(REPO, 'docs', '*.md')))
        + [os.path.join(REPO, 'BENCHMARKS.md'), os.path.join(REPO, 'test_tipc', 'README.md')])
SCRIPTS = ('train.py', 'test.py', 'export_model.py', 'infer.py', 'search.py', 'reproduce.py', 'benchmark.py',
           'benchmarks/learning_parity.py', 'benchmarks/torch_train.py', 'data/make_sample_data.py')
SHELL_SCRIPTS = {'train.sh': 'train.py', 'run_lfm.sh': 'test.py'}  # where their extra arguments go
# Flags of other programs that the docs' prose names: Paddle's launcher, paddle2onnx, TIPC's standard layout.
FOREIGN_FLAGS = {'--nproc_per_node', '--master', '--nnodes', '--model_dir', '--model_filename',
                 '--params_filename', '--save_file', '--opset_version', '--optimize_tool', '--enable_onnx_checker',
                 '--pretrained'}
TRACKER = re.compile(r'\bissues?\s*#?\d|\bstop\s*#?\d|\bresolved\b|\bdone[- ]when\b|\bgoals? of\b|\btickets?\b'
                     r'|\bTODO\b|\bFIXME\b|\bPR\s*#?\d|(?:^|\s)#\d+\b', re.IGNORECASE)
FENCE = re.compile(r'^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$', re.MULTILINE | re.DOTALL)
LINK = re.compile(r'!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+"[^"]*")?\)')
CODE = re.compile(r'`([^`\n]+)`')
DECIMAL = r'-?\d+\.\d+(?:e[-+]?\d+)?'
rel = functools.partial(os.path.relpath, start=REPO)


def read(path):
    with open(os.path.join(REPO, path), encoding='utf-8') as f:
        return f.read()


prose = functools.partial(FENCE.sub, lambda m: '\n' * m.group(0).count('\n'))  # fenced blocks blanked, lines kept


def anchors(path):
    """GitHub's anchors of a Markdown file's headings (a repeated heading gets -1, -2, ...)."""
    seen, result = {}, set()
    for heading in re.findall(r'^#{1,6}\s+(.*?)\s*#*\s*$', prose(read(path)), re.MULTILINE):
        slug = re.sub(r'[^\w\- ]', '', heading.lower()).replace(' ', '-')
        seen[slug] = seen.get(slug, -1) + 1
        result.add('{}-{}'.format(slug, seen[slug]) if seen[slug] else slug)
    return result


@pytest.mark.parametrize('path', DOCS, ids=rel)
def test_links_and_anchors_resolve_and_no_tracker_words(path):
    text, broken = read(path), []
    for target in LINK.findall(prose(text)):
        file_part, _, anchor = target.partition('#')
        linked = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
        if not re.match(r'[a-z][a-z0-9+.-]*:', target) and (  # http:, mailto: ... are not checked
                not os.path.exists(linked) or anchor and linked.endswith('.md') and anchor not in anchors(linked)):
            broken.append(target)
    assert not broken, 'links to nothing: {}'.format(broken)
    tracker = [line.strip() for line in text.splitlines() if TRACKER.search(line)]
    assert not tracker, 'tracker words instead of facts: {}'.format(tracker)


def test_readme_within_its_budget():
    assert len(read(README)) <= MAX_README_CHARS, 'README.md is too long: move details to docs/'


def test_file_map_lists_every_top_level_entry_and_every_lmf_module():
    """Each item of the README's file map names its entries by the links before its ': '."""
    section = re.search(r'^## File map\n(.*?)^## ', read(README), re.MULTILINE | re.DOTALL).group(1)
    listed = {target.rstrip('/') for item in re.findall(r'^ *- (.*?): ', section, re.MULTILINE)
              for target in LINK.findall(item)}
    ignored = [p.strip().strip('/') for p in read('.gitignore').splitlines() if p.strip()[:1] not in ('', '#', '!')]
    top = {name for name in os.listdir(REPO) if name not in ('.git', '.gitignore', 'README.md')
           and not any('/' not in p and fnmatch.fnmatch(name, p) for p in ignored)}
    modules = {'lmf/' + os.path.basename(p) for p in glob.glob(os.path.join(REPO, 'lmf', '*.py'))} - {'lmf/__init__.py'}
    assert {t.split('/')[0] for t in listed} == top, 'the file map against the top level'
    assert {t for t in listed if t.startswith('lmf/')} == modules, 'the file map against lmf/'


@functools.lru_cache(maxsize=None)
def script(path):
    """A repository script imported from its file (as doc_<name>: `test` would be the standard library's)."""
    spec = importlib.util.spec_from_file_location('doc_' + re.sub(r'\W', '_', path[:-3]), os.path.join(REPO, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


Parsing = type('Parsing', (Exception,), {})


@functools.lru_cache(maxsize=None)
def parser_of(path):
    """The parser a script builds, caught as it starts parsing (in parse_args(), or main() if it has none)."""
    def catch(parser, *args):
        raise Parsing(parser)
    with mock.patch.object(argparse.ArgumentParser, 'parse_args', catch), mock.patch.object(sys, 'argv', [path]):
        with pytest.raises(Parsing) as caught:
            getattr(script(path), 'parse_args', script(path).main)()
    return caught.value.args[0]


def invocation(words):
    """(script, arguments, environment) of a command that runs a file (python X.py, bash X.sh), else None."""
    env = {}
    while words and re.match(r'[A-Z_][A-Z0-9_]*=', words[0]):
        name, _, env[name] = words.pop(0).partition('=')
    if words[:3] == ['python', '-m', 'paddle.distributed.launch']:  # the launcher's flags, then the script's
        words = words[next(i for i, w in enumerate(words) if w.endswith('.py')):]
    words = words[1:] if words[:1] in (['python'], ['python3'], ['bash']) else words
    return (re.sub(r'^\./', '', words[0]), words[1:], env) if words[:1] and words[0][-3:] in ('.py', '.sh') else None


@functools.lru_cache(maxsize=None)
def commands():
    """[(where, script, arguments, environment, in a block)]: the commands of the docs' shell and plain blocks
    ('$ ' prompts, comments and continuation lines handled, split at && ; || |; lines with ... or <placeholders>
    left out), and inline code naming a script and flags (whose values may be placeholders)."""
    found = []
    for path in DOCS:
        text = read(path)
        where = lambda m: '{}:{}'.format(rel(path), text.count('\n', 0, m.start()) + 1)  # noqa: E731
        for m in (m for m in FENCE.finditer(text) if m.group(1) in ('', 'bash', 'sh')):
            for line in re.sub(r'\\\n\s*', ' ', m.group(2)).splitlines():
                try:
                    tokens = shlex.split(re.sub(r'^\$ ', '', line.strip()), comments=True)
                except ValueError:  # an output line
                    continue
                if not any('...' in t or re.search(r'<\w+>', t) for t in tokens):
                    parts = re.split(r'\x00(?:&&|\|\||;|\|)\x00', '\x00'.join(tokens))
                    found += [(where(m),) + c + (True,) for c in map(invocation, (p.split('\x00') for p in parts)) if c]
        found += [(where(m),) + c + (False,) for m in CODE.finditer(prose(text))
                  for c in [invocation(m.group(1).split())] if c and any(a.startswith('--') for a in c[1])]
    return found


@pytest.mark.parametrize('path', sorted(set(SCRIPTS) | set(SHELL_SCRIPTS) | {c[1] for c in commands()}))
def test_the_commands_shown_run_a_script_that_takes_them(path):
    """The script exists, reads the environment given to it, and its parser takes the flags shown (exact names:
    argparse takes a renamed flag's prefix) and, in blocks, their values; train.sh's and run_lfm.sh's extra
    arguments go to train.py and test.py."""
    shown = [c for c in commands() if path in (c[1], SHELL_SCRIPTS.get(c[1]))]
    assert shown and os.path.isfile(os.path.join(REPO, path)), 'no command of {}, or no {}'.format(path, path)
    for where, _, args, env, in_block in shown:
        assert all(re.search(r'\$\{?' + name + r'\b', read(path)) for name in env if path in SHELL_SCRIPTS), where
        parser = parser_of(path) if path in SCRIPTS else None
        with contextlib.redirect_stderr(io.StringIO()) as stderr:
            try:
                parser.parse_args(args) if parser and in_block else None
            except SystemExit:
                pytest.fail('{}: {} rejects {}: {}'.format(where, path, args, stderr.getvalue().strip()))
        unknown = [a for a in (a.split('=')[0] for a in args) if parser and a[:2] == '--'
                   and a not in parser._option_string_actions]
        assert not unknown, '{}: {} has no {}'.format(where, path, unknown)


def test_every_other_flag_the_prose_names_exists():
    """Flags outside commands (`--seeds N`, tables) belong to some script, or to a foreign program."""
    known = FOREIGN_FLAGS.union(*(parser_of(path)._option_string_actions for path in SCRIPTS))
    unknown = set()
    for path in DOCS:
        text = CODE.sub(lambda m: '' if invocation(m.group(1).split()) else m.group(0), prose(read(path)))
        unknown |= {'{}: {}'.format(rel(path), flag) for flag in re.findall(r'(?<![\w-])--[a-z][a-z0-9_-]*', text)
                    if flag.rstrip('_-') not in known}
    assert not unknown, sorted(unknown)


def test_names_of_code_resolve():
    """`module.name` in the docs names something that module has: a function that moved is renamed there."""
    lmf = {os.path.basename(p)[:-3] for p in glob.glob(os.path.join(REPO, 'lmf', '*.py'))}
    top = {os.path.basename(p)[:-3] for p in glob.glob(os.path.join(REPO, '*.py'))}
    missing = []
    for path in DOCS:
        code = '\n'.join(CODE.findall(prose(read(path))))
        for module, name in re.findall(r'(?<![\w./-])(\w+)\.([A-Za-z_]\w*)', code):
            if module in lmf | top and name not in ('py', 'sh', 'md', 'txt', 'pkl', 'json'):
                found = importlib.import_module('lmf.' + module) if module in lmf else script(module + '.py')
                missing += [] if hasattr(found, name) else ['{}: {}.{}'.format(rel(path), module, name)]
    assert not missing, missing


COLUMNS = {'audio/video/text dropout': ('audio_dropout', 'video_dropout', 'text_dropout'),  # the others: (title,)
           'factor_lr': ('factor_learning_rate',), 'lr': ('learning_rate',), 'batch': ('batch_size',)}


def tables(text):
    """[(header cells, [row cells])] of every Markdown table of a text."""
    lines, found = text.splitlines() + [''], []
    cells = lambda line: [c.strip() for c in line.strip().strip('|').split('|')]  # noqa: E731
    for i, line in enumerate(lines[:-1]):
        if line.startswith('|') and lines[i + 1].startswith('|-'):
            end = next(j for j in range(i + 2, len(lines)) if not lines[j].startswith('|'))
            found.append((cells(line), [cells(row) for row in lines[i + 2:end]]))
    return found


def test_the_hyperparameter_tables_are_the_published_values():
    """Every table of PUBLISHED's columns in the docs shows rows of lmf/hparams.py's PUBLISHED (an MMSA file's as
    'MMSA <dataset>'), and every published row is shown."""
    from lmf import hparams
    shown = set()
    for path in DOCS:
        for header, rows in tables(read(path)):
            names = [name for title in header[1:] for name in COLUMNS.get(title, (title,))]
            for row in rows if sorted(names) == sorted(hparams.TABLE_COLUMNS) else []:
                family, task = ('mmsa', row[0][5:]) if row[0].startswith('MMSA ') else next(
                    (f, row[0]) for f in hparams.PAPER_FAMILIES if row[0] in hparams.PUBLISHED[f])
                assert [float(v) for cell in row[1:] for v in cell.split('/')] == [
                    hparams.HPARAMS[family][task][n] for n in names], (rel(path), row)
                shown.add((family, task))
    assert shown == {(f, t) for f, rows in hparams.PUBLISHED.items() for t in rows}, 'published rows not shown'


def test_the_search_grid_docs_search_shows_is_the_spec():
    """docs/search.md's grids, a list once where several hyperparameters share it ("each dropout"), and sizes."""
    from lmf import hparams
    paragraph = re.search(r'\*\*Space\.\*\*(.*?)`--space file\.json`', read('docs/search.md'), re.DOTALL).group(1)
    shown = [[float(v) for v in group.split(',')] for group in re.findall(r'\{([\d.,]+)\}', paragraph)]
    iemocap, regression = hparams.search_space('iemocap'), hparams.search_space('mosi')
    grids = list(iemocap.values())
    assert shown == [g for i, g in enumerate(grids) if grids[i - 1:i] != [g]] + [
        regression[n] for n in regression if regression[n] != iemocap[n]] and regression == hparams.search_space('pom')
    sizes = [int(n.replace(',', '')) for n in re.findall(r'\(([\d,]+) settings\)', paragraph)]
    assert sizes == [math.prod(len(v) for v in space.values()) for space in (iemocap, regression)]


# Output blocks: (doc, a line of the block, what varies beyond the decimals, the commands run, the last one's output
# shown (None: the block's '$ ' line)); run as written (1 epoch) where small SYNTHETIC samples stand for the data.
OUTPUTS = [('docs/training.md', 'Best seed by validation loss', r'(?<=validation loss: )\d+', [None]),
           ('README.md', 'Start testing happy......', None,
            [['train.py', '--emotion', 'happy'], ['test.py', '--emotion', 'happy']]),
           ('docs/datasets.md', 'Start testing mosi......', None,
            [['train.py', '--dataset', 'mosi'], ['test.py', '--dataset', 'mosi']])]


@pytest.fixture(scope='module')
def sample_dir(tmp_path_factory):
    from data import iemocap, mosi
    folder = tmp_path_factory.mktemp('docs')
    for reader in (iemocap, mosi):
        reader.write_sample_data(str(folder / reader.SAMPLE_PATH), sizes=(('train', 48), ('valid', 16), ('test', 24)))
    return folder


@pytest.mark.parametrize('doc,marker,varies,runs', OUTPUTS, ids=[output[0] for output in OUTPUTS])
def test_the_scripts_print_the_output_the_docs_show(sample_dir, doc, marker, varies, runs):
    """The block's lines are printed, consecutively but for '...' lines (any lines between); a decimal (a score)
    stands for any number, and so does what `varies` matches."""
    block = next(m.group(2).splitlines() for m in FENCE.finditer(read(doc)) if marker in m.group(2))
    runs = [shlex.split(block.pop(0))[2:] if run is None else run for run in runs]
    for run in runs:
        with contextlib.chdir(sample_dir), contextlib.redirect_stdout(io.StringIO()) as printed:
            script(run[0]).main(run[1:] + (['--epochs', '1'] if run[0] == 'train.py' else []))
    pattern = ''.join(r'(?:.*\n)*?' if line.startswith('...') else r'-?\d+(?:\.\d+)?(?:e[-+]?\d+)?'.join(
        re.escape(part) for part in re.split(DECIMAL + '|' + (varies or DECIMAL), line)) + '\n'
        for line in block if line.strip())
    assert re.search('(?m)^' + pattern, printed.getvalue() + '\n'), '{}\n--- printed:\n{}'.format(
        '\n'.join(block), printed.getvalue())


RESULTS_TABLES = {'IEMOCAP, weighted F1': ('IEMOCAP F1', 100), 'CMU-MOSI': ('CMU-MOSI', 1),
                  'POM (means over the traits)': ('POM', 1)}  # README's table: RESULTS.md's, and the scale
MMSA_TABLES = ('CMU-MOSI', 'CMU-MOSEI', 'CH-SIMS', 'CH-SIMS v2')  # README's row prefix; RESULTS.md: '<name> (MMSA)'
MMSA_COLUMNS = {'Acc-2': ('Non0_acc_2', 'Mult_acc_2'), 'F1': ('Non0_F1_score', 'F1_score')}


def test_the_readme_quotes_results_md():
    """Every cell of the README's rows of this port (and MMSA's published rows) is RESULTS.md's mean ± std, labelled
    SYNTHETIC as there; so are the efficiency ratios and the robustness prose's scores."""
    readme, results = read(README), read('results/RESULTS.md')
    theirs, quoted = {header[0]: (header, rows) for header, rows in reversed(tables(results))}, set()
    numbers = lambda cell: [Decimal(n) for n in re.findall(r'\d+\.\d+', cell)[:2]]  # noqa: E731 (mean, std)
    for header, row in ((header, row) for header, rows in tables(readme) for row in rows):
        if header[0] in RESULTS_TABLES and 'this port' in row[0]:
            (name, scale), kind = RESULTS_TABLES[header[0]], 'this repository'
        elif row[0].split(',')[0] in MMSA_TABLES and ('this port' in row[0] or "MMSA's published" in row[0]):
            name, scale = row[0].split(',')[0] + ' (MMSA)', 1
            kind = "MMSA's" if "MMSA's" in row[0] else '--recipe mmsa' if '--recipe' in row[0] else 'default'
        else:
            continue
        their_header, their_rows = theirs[name]
        their_row = next(r for r in their_rows if r[0].startswith(kind))
        assert ('SYNTHETIC' in row[0]) == ('SYNTHETIC' in their_row[0]), row[0]  # scores on a sample say so
        for title, cell in zip(header[1:], row[1:]):
            column = next(i for i, t in enumerate(their_header) if t in (title,) + MMSA_COLUMNS.get(title, ()))
            assert [n * scale for n in numbers(cell)] == numbers(their_row[column]), (row[0], title, cell)
        quoted.add(name)
    assert quoted == {name for name, _ in RESULTS_TABLES.values()} | {n + ' (MMSA)' for n in MMSA_TABLES}
    for ratio in next(r for r in theirs['model'][1] if r[0] == 'this run, LMF / TFN')[1:]:
        assert ratio in readme, 'efficiency: ' + ratio
    robustness = re.search(r'^### Robustness(.*?)^## ', readme, re.MULTILINE | re.DOTALL).group(1)
    scores = set(re.findall(r'(?<![\d.])\d{2}\.\d(?![\d.])', re.sub(r'!\[.*', '', robustness)))
    means = set(re.findall(r'\| (\d+\.\d) ± ', results[results.index('## Robustness'):]))
    assert len(scores) >= 6 and scores <= means, sorted(scores - means)
