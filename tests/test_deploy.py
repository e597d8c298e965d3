"""Deployment: train -> export_model.py -> infer.py (Paddle Inference), bad input, and the TIPC lite run.

The TIPC test takes about 40 s; deselect it with `-m "not tipc"`.
"""
import glob
import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from helpers import REPO, SEED_CHECKPOINTS, assert_clean_error, repo_copy, run_script, iemocap_data, write_pickle
from data.iemocap import make_sample_data, SPLIT_SIZES
from data.common import split_sizes
from lmf import hparams
from lmf import engine
from lmf import checkpoints
from lmf import metrics
import utils

N_TEST = 40  # test samples per emotion: batch size 32 leaves a short last batch


@pytest.fixture(scope='module')
def deployed(tmp_path_factory):
    """Every emotion trained for 2 epochs on small synthetic data, then exported by the CLI."""
    import train
    tmp = tmp_path_factory.mktemp('deploy')
    data = write_pickle(tmp / 'small.pkl', make_sample_data(0, split_sizes(SPLIT_SIZES, 48, 16, N_TEST)))
    check, inference = str(tmp / 'check'), str(tmp / 'inference')
    exports = {}
    for emotion in hparams.EMOTIONS:
        hp = dict(hparams.emotion_hparams(emotion), emotion=emotion, epochs=2)
        engine.train_and_test(hp, data, check, str(tmp / 'train_log'))
        args = ['export_model.py', '--emotion', emotion, '--check_path', check, '--save_inference_dir', inference]
        if emotion == 'happy':  # the seed's command form: every hyperparameter flag and --data_path
            args += ['--audio_hidden', '4', '--video_hidden', '16', '--text_hidden', '128', '--audio_dropout', '0.3',
                     '--video_dropout', '0.1', '--text_dropout', '0.5', '--rank', '1', '--data_path', data]
        proc = run_script(*args)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        exports[emotion] = proc
    return dict(tmp=tmp, data=data, check=check, inference=inference, exports=exports)


def dynamic_probabilities(checkpoint, emotion, data):
    """Softmax of the dynamic-graph model on the test split."""
    import paddle
    import paddle.nn.functional as F
    model, _, _ = checkpoints.model_from_checkpoint(checkpoint, emotion)
    _, _, test_set, _ = engine.load_data('iemocap', data, emotion, verbose=False)
    with paddle.no_grad():
        logits = [model(a, v, t) for a, v, t, _ in engine.iterate_batches(test_set, 1024)]
    return F.softmax(paddle.concat(logits), axis=-1).numpy()


def test_export_writes_the_documented_files(deployed):
    for emotion in hparams.EMOTIONS:
        folder = os.path.join(deployed['inference'], emotion)
        program, params, info_path = utils.inference_model_files(folder)
        assert sorted(os.listdir(folder)) == ['inference.json', 'inference.onnx', 'inference.pdiparams',
                                              'inference_info.json']
        with open(info_path) as f:
            info = json.load(f)
        assert info['emotion'] == emotion and info['output'] == 'probabilities'
        assert info['input_dims'] == [74, 35, 300] and info['seq_len'] == 20
        assert info['inputs'] == {'audio': [None, 74], 'video': [None, 35], 'text': [None, 20, 300]}
        assert info['onnx'] == {'file': 'inference.onnx', 'opset': 17}
        stdout = deployed['exports'][emotion].stdout
        assert 'Self-check on' in stdout and 'Traceback' not in deployed['exports'][emotion].stderr
        assert 'ONNX self-check (onnxruntime, opset 17) on' in stdout
        assert 'Saved {}'.format(os.path.join(folder, 'inference.onnx')) in stdout
    # With --data_path the self-check runs on that data's test samples.
    assert 'test samples of {}'.format(deployed['data']) in deployed['exports']['happy'].stdout


@pytest.mark.parametrize('emotion', hparams.EMOTIONS)
def test_inference_equals_the_dynamic_graph(deployed, emotion):
    expected = dynamic_probabilities(os.path.join(deployed['check'], emotion + '.pdparams'), emotion, deployed['data'])
    assert expected.shape == (N_TEST, 2)
    for batch_size in (1, 32):
        out = str(deployed['tmp'] / 'out_bs{}'.format(batch_size))
        proc = run_script('infer.py', '--emotion', emotion, '--save_inference_dir', deployed['inference'],
                          '--data_path', deployed['data'], '--batch_size', str(batch_size), '--output_dir', out)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        probs = np.load(os.path.join(out, emotion + '_prob.npy'))
        assert probs.shape == (N_TEST, 2)
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
        np.testing.assert_allclose(probs, expected, rtol=0, atol=1e-5)
        assert 'F1-score on test set is' in proc.stdout and 'Accuracy score on test set is' in proc.stdout
        assert engine.synthetic_note('iemocap') in proc.stdout
        assert 'Inference device: CPU' in proc.stdout


def test_benchmark_report(deployed):
    proc = run_script('infer.py', '--emotion', 'sad', '--save_inference_dir', deployed['inference'],
                      '--data_path', deployed['data'], '--batch_size', '8', '--benchmark', 'True',
                      '--output_dir', str(deployed['tmp'] / 'bench'))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for key in ('paddle_version: ', 'runtime_device: cpu', 'ir_optim: ', 'enable_mkldnn: ',
                'cpu_math_library_num_threads: ', 'batch_size: 8', 'data_num: {}'.format(N_TEST), 'cpu_rss(MB): ',
                'total time spent(s): ', 'preprocess_time(ms): ', 'inference_time(ms): ', 'postprocess_time(ms): '):
        assert key in proc.stdout, key
    assert 'batches: 5 (after 3 warm-up runs)' in proc.stdout
    p50, p99 = (float(v) for v in re.search(r'inference_latency\(ms\): p50 ([0-9.]+), p99 ([0-9.]+)', proc.stdout).groups())
    assert 0 < p50 <= p99


def test_use_gpu_on_a_cpu_build_runs_on_cpu_and_says_so(deployed):
    if utils.gpu_available():
        pytest.skip('this Paddle build has a GPU')
    proc = run_script('infer.py', '--emotion', 'angry', '--save_inference_dir', deployed['inference'],
                      '--data_path', deployed['data'], '--use-gpu', 'True', '--output_dir', str(deployed['tmp'] / 'g'))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '--use-gpu True: this Paddle build has no usable GPU; running on CPU' in proc.stdout
    assert 'Inference device: CPU' in proc.stdout


def test_dynamic_sequence_length_export(deployed, tmp_path):
    """--seq_len 0 exports a model that takes any text length."""
    proc = run_script('export_model.py', '--emotion', 'neutral', '--check_path', deployed['check'],
                      '--save_inference_dir', str(tmp_path), '--seq_len', '0')
    assert proc.returncode == 0, proc.stderr
    data = write_pickle(tmp_path / 'short.pkl', iemocap_data(emotions=('neutral',), sizes=(4, 4, 6), seq=12))
    proc = run_script('infer.py', '--emotion', 'neutral', '--save_inference_dir', str(tmp_path), '--data_path', data,
                      '--output_dir', str(tmp_path / 'out'))
    assert proc.returncode == 0, proc.stderr
    assert np.load(str(tmp_path / 'out' / 'neutral_prob.npy')).shape == (6, 2)


def test_published_seed_checkpoint_exports_and_infers(deployed, tmp_path):
    """The earlier port's check/happy.pkl (trained on IEMOCAP) goes through export and inference."""
    checkpoint = os.path.join(SEED_CHECKPOINTS, 'happy.pkl')
    if not os.path.isfile(checkpoint):
        pytest.skip('published checkpoints not available')
    proc = run_script('export_model.py', '--emotion', 'happy', '--check_path', checkpoint,
                      '--save_inference_dir', str(tmp_path), '--data_path', deployed['data'])
    assert proc.returncode == 0, proc.stderr
    proc = run_script('infer.py', '--emotion', 'happy', '--save_inference_dir', str(tmp_path),
                      '--data_path', deployed['data'], '--batch_size', '1', '--output_dir', str(tmp_path / 'out'))
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_allclose(np.load(str(tmp_path / 'out' / 'happy_prob.npy')),
                               dynamic_probabilities(checkpoint, 'happy', deployed['data']), rtol=0, atol=1e-5)


# ---------------------------------------------------------------- bad input

def test_infer_without_exported_model(deployed, tmp_path):
    proc = run_script('infer.py', '--emotion', 'happy', '--save_inference_dir', str(tmp_path),
                      '--data_path', deployed['data'])
    assert_clean_error(proc, 'no exported happy model', 'export_model.py')


def test_infer_with_a_missing_weights_file(deployed, tmp_path):
    folder = tmp_path / 'happy'
    shutil.copytree(os.path.join(deployed['inference'], 'happy'), str(folder))
    os.remove(str(folder / 'inference.pdiparams'))
    proc = run_script('infer.py', '--emotion', 'happy', '--save_inference_dir', str(tmp_path),
                      '--data_path', deployed['data'])
    assert_clean_error(proc, 'inference.pdiparams missing')


def test_infer_on_data_with_another_feature_size(deployed, tmp_path):
    data = write_pickle(tmp_path / 'audio70.pkl', iemocap_data(emotions=('sad',), sizes=(4, 4, 4), audio=70))
    proc = run_script('infer.py', '--emotion', 'sad', '--save_inference_dir', deployed['inference'], '--data_path', data)
    assert_clean_error(proc, 'audio 70 (model expects 74)')


def test_infer_on_data_with_another_sequence_length(deployed, tmp_path):
    data = write_pickle(tmp_path / 'seq12.pkl', iemocap_data(emotions=('sad',), sizes=(4, 4, 4), seq=12))
    proc = run_script('infer.py', '--emotion', 'sad', '--save_inference_dir', deployed['inference'], '--data_path', data)
    assert_clean_error(proc, 'length 12', 'exported for 20')


def test_model_exported_for_another_input_size(deployed, tmp_path):
    hp = dict(hparams.emotion_hparams('angry'), emotion='angry')
    checkpoints.save_checkpoint(str(tmp_path / 'angry.pdparams'), checkpoints.build_model(hp, (70, 35, 300)), hp, (70, 35, 300))
    proc = run_script('export_model.py', '--emotion', 'angry', '--check_path', str(tmp_path),
                      '--save_inference_dir', str(tmp_path / 'inference'))
    assert proc.returncode == 0, proc.stderr
    assert 'audio [None, 70]' in proc.stdout
    proc = run_script('infer.py', '--emotion', 'angry', '--save_inference_dir', str(tmp_path / 'inference'),
                      '--data_path', deployed['data'])
    assert_clean_error(proc, 'audio 74 (model expects 70)')
    # export with --data_path checks the data against the model as well
    proc = run_script('export_model.py', '--emotion', 'angry', '--check_path', str(tmp_path),
                      '--save_inference_dir', str(tmp_path / 'inference'), '--data_path', deployed['data'])
    assert_clean_error(proc, 'audio 74 (model expects 70)')


def copied_export(deployed, tmp_path):
    """A copy of the exported happy model to edit: (its folder, its info file's path, the info dict)."""
    folder = tmp_path / 'happy'
    shutil.copytree(os.path.join(deployed['inference'], 'happy'), str(folder))
    info_path = str(folder / 'inference_info.json')
    with open(info_path) as f:
        return folder, info_path, json.load(f)


def test_infer_refuses_an_info_file_that_contradicts_the_program(deployed, tmp_path):
    folder, info_path, info = copied_export(deployed, tmp_path)
    info['input_dims'][0] = 70
    with open(info_path, 'w') as f:
        json.dump(info, f)
    proc = run_script('infer.py', '--emotion', 'happy', '--save_inference_dir', str(tmp_path),
                      '--data_path', deployed['data'])
    assert_clean_error(proc, 're-export')


def test_infer_with_a_model_of_another_emotion(deployed):
    proc = run_script('infer.py', '--emotion', 'sad', '--save_inference_dir',
                      os.path.join(deployed['inference'], 'happy'), '--data_path', deployed['data'])
    assert_clean_error(proc, 'exported for happy')


def test_export_bad_input(deployed, tmp_path):
    common = ['export_model.py', '--check_path', deployed['check'], '--save_inference_dir', str(tmp_path)]
    assert_clean_error(run_script(*common, '--emotion', 'happy', '--data_path', str(tmp_path / 'none.pkl')),
                       '--data_path', 'does not exist')
    assert_clean_error(run_script(*common, '--emotion', 'happy', '--rank', '7'), '--rank 7')
    assert_clean_error(run_script('export_model.py', '--emotion', 'happy', '--check_path', str(tmp_path)),
                       'no happy.pdparams')
    assert not os.path.exists(str(tmp_path / 'happy'))


# ---------------------------------------------------------------- regression (CMU-MOSI, POM)

PAPER_REGRESSION = ('mosi', 'pom')  # the paper's pickles (MMSA's files: tests/test_mmsa.py)
REGRESSION_DIMS = {'mosi': ([74, 47, 300], 1), 'pom': ([43, 43, 300], 16)}  # input sizes, outputs K


@pytest.fixture(scope='module')
def regression_deployed(tmp_path_factory):
    """CMU-MOSI and POM models trained for 2 epochs on small synthetic data, exported by the CLI with --data_path."""
    import data
    import train
    tmp = tmp_path_factory.mktemp('deploy_regression')
    check, inference = str(tmp / 'check'), str(tmp / 'inference')
    paths, exports = {}, {}
    for dataset in PAPER_REGRESSION:
        reader = data.module(dataset)
        paths[dataset] = write_pickle(tmp / '{}.pkl'.format(dataset),
                                      reader.make_sample_data(0, split_sizes(reader.SPLIT_SIZES, 48, 16, N_TEST)))
        engine.train_and_test(dict(hparams.published_hparams(dataset), epochs=2), paths[dataset], check,
                             str(tmp / 'train_log'))
        proc = run_script('export_model.py', '--dataset', dataset, '--check_path', check,
                          '--save_inference_dir', inference, '--data_path', paths[dataset])
        assert proc.returncode == 0, proc.stdout + proc.stderr
        exports[dataset] = proc
    return dict(tmp=tmp, data=paths, check=check, inference=inference, exports=exports)


def dynamic_scores(checkpoint, dataset, data):
    """The dynamic-graph regression model's raw outputs on the test split."""
    import paddle
    model, _, _ = checkpoints.model_from_checkpoint(checkpoint, dataset, dataset=dataset)
    _, _, test_set, _ = engine.load_data(dataset, data, dataset, verbose=False)
    with paddle.no_grad():
        return paddle.concat([model(a, v, t) for a, v, t, _ in engine.iterate_batches(test_set, 1024)]).numpy()


@pytest.mark.parametrize('dataset', PAPER_REGRESSION)
def test_regression_export_writes_scores(regression_deployed, dataset):
    folder = os.path.join(regression_deployed['inference'], dataset)
    assert sorted(os.listdir(folder)) == ['inference.json', 'inference.onnx', 'inference.pdiparams',
                                          'inference_info.json']
    with open(utils.inference_model_files(folder)[2]) as f:
        info = json.load(f)
    dims, k = REGRESSION_DIMS[dataset]
    assert info['dataset'] == dataset and info['name'] == dataset and 'emotion' not in info
    assert info['output'] == 'scores' and info['output_dim'] == k
    assert info['input_dims'] == dims and info['seq_len'] == 20
    proc = regression_deployed['exports'][dataset]
    assert 'Output: [None, {}] regression scores (no softmax)'.format(k) in proc.stdout
    assert 'softmax)' not in proc.stdout.replace('(no softmax)', '')
    # the self-check ran on the test samples that the dataset's own reader loaded
    assert 'Self-check on 8 test samples of {}'.format(regression_deployed['data'][dataset]) in proc.stdout
    assert 'NOTE: {} is SYNTHETIC sample data, not {}.'.format(
        regression_deployed['data'][dataset], {'mosi': 'CMU-MOSI', 'pom': 'POM'}[dataset]) in proc.stdout


@pytest.mark.parametrize('dataset', PAPER_REGRESSION)
def test_regression_inference_equals_the_dynamic_graph(regression_deployed, dataset):
    tmp, data = regression_deployed['tmp'], regression_deployed['data'][dataset]
    expected = dynamic_scores(os.path.join(regression_deployed['check'], dataset + '.pdparams'), dataset, data)
    k = REGRESSION_DIMS[dataset][1]
    assert expected.shape == (N_TEST, k)
    common = ['--dataset', dataset, '--save_inference_dir', regression_deployed['inference'], '--data_path', data]
    # batch size 1 into --output_dir; batch size 32 (short last batch) into the default out_pred/ of the
    # working directory, with the benchmark report
    run_dir = tmp / 'cwd_{}'.format(dataset)
    os.makedirs(str(run_dir))
    out_bs1 = str(tmp / 'pred_bs1_{}'.format(dataset))
    runs = [(run_script('infer.py', *common, '--batch_size', '1', '--output_dir', out_bs1), out_bs1, out_bs1),
            (run_script(os.path.join(REPO, 'infer.py'), *common, '--batch_size', '32', '--benchmark', 'True',
                        cwd=str(run_dir)), str(run_dir / 'out_pred'), 'out_pred')]
    for proc, out, shown in runs:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert os.listdir(out) == ['{}_pred.npy'.format(dataset)]
        pred = np.load(os.path.join(out, '{}_pred.npy'.format(dataset)))
        assert pred.shape == (N_TEST, k) and pred.dtype == np.float32
        np.testing.assert_allclose(pred, expected, rtol=0, atol=1e-5)
        # No softmax: over one output it would be 1 everywhere; over 16 the rows would sum to 1.
        if k == 1:
            assert not np.allclose(pred, 1.0, atol=1e-3)
        else:
            assert not np.allclose(pred.sum(axis=1), 1.0, atol=1e-3)
        assert 'Saved regression scores [{}, {}] to {}'.format(
            N_TEST, k, os.path.join(shown, dataset + '_pred.npy')) in proc.stdout
        scores = metrics.task_metrics(dataset, engine.load_data(dataset, data, dataset, verbose=False)[2].targets, pred)
        lines = []
        metrics.show_results(dataset, scores, out=lines.append)
        assert '\n'.join(lines) in proc.stdout
        if dataset == 'mosi':
            for fragment in ('MAE on test set is', 'Correlation w.r.t human evaluation on test set is',
                             'Multiclass accuracy on test set is', 'Binary accuracy on test set is',
                             'F1-score on test set is', 'Acc-7 (prediction and truth clipped to [-3, 3])'):
                assert fragment in proc.stdout, fragment
        else:
            for fragment in ('Confidence', 'Humorous', 'Means over the 16 traits:', 'MAE on test set is',
                             'Correlation w.r.t human evaluation on test set is', 'Multiclass accuracy on test set is'):
                assert fragment in proc.stdout, fragment
        assert 'Accuracy score on test set is' not in proc.stdout  # IEMOCAP's line
        assert engine.synthetic_note(dataset) in proc.stdout and engine.synthetic_note('iemocap') not in proc.stdout
    bench = runs[1][0].stdout
    for key in ('runtime_device: cpu', 'batch_size: 32', 'data_num: {}'.format(N_TEST),
                'batches: 2 (after 3 warm-up runs)', 'inference_time(ms): '):
        assert key in bench, key
    assert 'data_num' not in runs[0][0].stdout


def test_regression_bad_input(regression_deployed, deployed, tmp_path):
    mosi_model = os.path.join(regression_deployed['inference'], 'mosi')
    # a CMU-MOSI export run as another dataset
    for dataset in ('pom', 'iemocap'):
        proc = run_script('infer.py', '--dataset', dataset, '--save_inference_dir', mosi_model,
                          '--data_path', regression_deployed['data']['pom' if dataset == 'pom' else 'mosi'])
        assert_clean_error(proc, '--dataset {}'.format(dataset), 'exported for --dataset mosi')
    # an IEMOCAP export run as CMU-MOSI
    proc = run_script('infer.py', '--dataset', 'mosi', '--save_inference_dir',
                      os.path.join(deployed['inference'], 'happy'), '--data_path', regression_deployed['data']['mosi'])
    assert_clean_error(proc, '--dataset mosi', 'exported for --dataset iemocap (happy)')
    # --emotion belongs to IEMOCAP
    assert_clean_error(run_script('infer.py', '--dataset', 'mosi', '--emotion', 'happy'), '--emotion')
    # the data's label count must be the export's output_dim: a POM copy with 17 label columns
    import data
    pom = data.module('pom').make_sample_data(1, (('train', 4), ('valid', 4), ('test', 6)))
    for split in (b'train', b'valid', b'test'):
        labels = pom[split][b'label']
        pom[split][b'label'] = np.concatenate([labels, labels[:, :1]], axis=1)
    proc = run_script('infer.py', '--dataset', 'pom', '--save_inference_dir', regression_deployed['inference'],
                      '--data_path', write_pickle(tmp_path / 'pom17.pkl', pom), '--output_dir', str(tmp_path / 'o'))
    assert_clean_error(proc, 'labels have 17 columns', 'outputs 16')
    assert not os.path.exists(str(tmp_path / 'o'))
    # an IEMOCAP checkpoint exported as CMU-MOSI
    proc = run_script('export_model.py', '--dataset', 'mosi', '--check_path',
                      os.path.join(deployed['check'], 'happy.pdparams'), '--save_inference_dir', str(tmp_path))
    assert_clean_error(proc, '--dataset mosi', 'trained on iemocap')
    # a CMU-MOSI checkpoint exported as POM
    proc = run_script('export_model.py', '--dataset', 'pom', '--check_path',
                      os.path.join(regression_deployed['check'], 'mosi.pdparams'),
                      '--save_inference_dir', str(tmp_path))
    assert_clean_error(proc, '--dataset pom', 'trained on mosi')
    assert os.listdir(str(tmp_path)) == ['pom17.pkl']


def test_info_file_without_dataset_is_iemocap(deployed, tmp_path):
    """inference_info.json as export_model.py wrote it before CMU-MOSI and POM (no 'dataset', no 'name')."""
    folder, info_path, info = copied_export(deployed, tmp_path)
    assert info.pop('dataset') == 'iemocap' and info.pop('name') == 'happy'
    with open(info_path, 'w') as f:
        json.dump(info, f)
    proc = run_script('infer.py', '--dataset', 'mosi', '--save_inference_dir', str(folder))
    assert_clean_error(proc, 'exported for --dataset iemocap (happy)')
    proc = run_script('infer.py', '--emotion', 'happy', '--save_inference_dir', str(tmp_path),
                      '--data_path', deployed['data'], '--output_dir', str(tmp_path / 'out'))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    np.testing.assert_allclose(np.load(str(tmp_path / 'out' / 'happy_prob.npy')),
                               dynamic_probabilities(os.path.join(deployed['check'], 'happy.pdparams'), 'happy',
                                                     deployed['data']), rtol=0, atol=1e-5)


# ---------------------------------------------------------------- ONNX (paddle2onnx, ONNX Runtime)

def onnx_inputs(path):
    """{input name: shape} of an ONNX file, symbolic dimensions as their names."""
    import onnx
    model = onnx.load(path)
    return {v.name: [d.dim_param if not d.HasField('dim_value') else d.dim_value
                     for d in v.type.tensor_type.shape.dim] for v in model.graph.input}


def test_export_writes_onnx_with_a_dynamic_batch_axis(deployed, regression_deployed):
    for folder, dims in ((os.path.join(deployed['inference'], 'sad'), (74, 35)),
                         (os.path.join(regression_deployed['inference'], 'mosi'), (74, 47))):
        shapes = onnx_inputs(os.path.join(folder, 'inference.onnx'))
        assert sorted(shapes) == ['audio', 'text', 'video']
        assert shapes['audio'][1:] == [dims[0]] and shapes['video'][1:] == [dims[1]] and shapes['text'][1:] == [20, 300]
        for shape in shapes.values():  # the batch axis is symbolic, not a number
            assert isinstance(shape[0], str) and shape[0], shapes


def test_onnx_inference_equals_the_dynamic_graph(deployed, regression_deployed):
    """--use_onnx True: the same .npy outputs as the dynamic graph within 1e-5, batch sizes 1 and 32, for every
    kind of export (IEMOCAP probabilities, CMU-MOSI and POM scores)."""
    cases = [('iemocap', 'happy', deployed['inference'], deployed['data'],
              dynamic_probabilities(os.path.join(deployed['check'], 'happy.pdparams'), 'happy', deployed['data'])),
             *((name, name, regression_deployed['inference'], regression_deployed['data'][name],
                dynamic_scores(os.path.join(regression_deployed['check'], name + '.pdparams'), name,
                               regression_deployed['data'][name])) for name in ('mosi', 'pom'))]
    for dataset, name, inference, data, expected in cases:
        task = ['--emotion', name] if dataset == 'iemocap' else ['--dataset', dataset]
        for batch_size in (1, 32):
            out = str(deployed['tmp'] / 'onnx_{}_bs{}'.format(name, batch_size))
            args = ['infer.py', *task, '--save_inference_dir', inference, '--data_path', data, '--use_onnx', 'True',
                    '--batch_size', str(batch_size), '--output_dir', out]
            if batch_size == 32:
                args += ['--benchmark', 'True']
            proc = run_script(*args)
            assert proc.returncode == 0, proc.stdout + proc.stderr
            result = np.load(os.path.join(out, '{}_prob.npy'.format(name) if dataset == 'iemocap'
                                          else '{}_pred.npy'.format(dataset)))
            assert result.shape == expected.shape and result.dtype == np.float32
            np.testing.assert_allclose(result, expected, rtol=0, atol=1e-5)
            assert 'Inference backend: ONNX Runtime' in proc.stdout and 'Inference device' not in proc.stdout
            lines = []
            metrics.show_results(dataset, metrics.task_metrics(
                dataset, engine.load_data(dataset, data, name, verbose=False)[2].targets, result), out=lines.append)
            assert '\n'.join(lines) in proc.stdout
            if batch_size == 32:
                for key in ('inference_backend: onnxruntime', 'onnxruntime_version: ',
                            'intra_op_num_threads: {}'.format(utils.default_cpu_threads()),
                            'execution_provider: CPUExecutionProvider', 'batch_size: 32',
                            'data_num: {}'.format(N_TEST), 'batches: 2 (after 3 warm-up runs)', 'inference_time(ms): '):
                    assert key in proc.stdout, key
                assert 'cpu_math_library_num_threads' not in proc.stdout


def test_onnx_bad_input(deployed, tmp_path):
    # a model folder without inference.onnx (exported before ONNX, or the file removed)
    folder = tmp_path / 'old' / 'happy'
    shutil.copytree(os.path.join(deployed['inference'], 'happy'), str(folder))
    os.remove(str(folder / 'inference.onnx'))
    proc = run_script('infer.py', '--emotion', 'happy', '--save_inference_dir', str(tmp_path / 'old'),
                      '--data_path', deployed['data'], '--use_onnx', 'True')
    assert_clean_error(proc, 'inference.onnx does not exist', 'python export_model.py --emotion happy')
    # the Paddle path still works from that folder
    proc = run_script('infer.py', '--emotion', 'happy', '--save_inference_dir', str(tmp_path / 'old'),
                      '--data_path', deployed['data'], '--output_dir', str(tmp_path / 'out'))
    assert proc.returncode == 0, proc.stderr
    # an inference.onnx with other input sizes (audio 70) beside an info file that says 74
    hp = dict(hparams.emotion_hparams('happy'), emotion='happy')
    checkpoints.save_checkpoint(str(tmp_path / 'happy.pdparams'), checkpoints.build_model(hp, (70, 35, 300)), hp, (70, 35, 300))
    proc = run_script('export_model.py', '--emotion', 'happy', '--check_path', str(tmp_path),
                      '--save_inference_dir', str(tmp_path / 'a70'))
    assert proc.returncode == 0, proc.stderr
    shutil.copy(str(tmp_path / 'a70' / 'happy' / 'inference.onnx'), str(folder / 'inference.onnx'))
    proc = run_script('infer.py', '--emotion', 'happy', '--save_inference_dir', str(tmp_path / 'old'),
                      '--data_path', deployed['data'], '--use_onnx', 'True')
    assert_clean_error(proc, 'inference.onnx takes inputs', "'audio': [None, 70]", 're-export')
    # a damaged file
    (folder / 'inference.onnx').write_bytes(b'not an onnx model')
    proc = run_script('infer.py', '--emotion', 'happy', '--save_inference_dir', str(tmp_path / 'old'),
                      '--data_path', deployed['data'], '--use_onnx', 'True')
    assert_clean_error(proc, 'not a readable ONNX model')


def test_export_without_paddle2onnx(deployed, tmp_path):
    """Without paddle2onnx installed, export says which package is missing and writes nothing."""
    blocker = tmp_path / 'block'
    os.makedirs(str(blocker))
    # loaded at start-up: a None entry in sys.modules makes `import paddle2onnx` fail as if it were not installed
    (blocker / 'sitecustomize.py').write_text('import sys\nsys.modules["paddle2onnx"] = None\n')
    proc = run_script('export_model.py', '--emotion', 'happy', '--check_path', deployed['check'],
                      '--save_inference_dir', str(tmp_path / 'inference'),
                      env={'PYTHONPATH': str(blocker) + os.pathsep + os.environ.get('PYTHONPATH', '')})
    assert_clean_error(proc, 'paddle2onnx is not installed', 'requirements.txt')
    assert not os.path.exists(str(tmp_path / 'inference'))


# ---------------------------------------------------------------- TIPC

@pytest.mark.tipc
def test_tipc_lite_train_lite_infer(tmp_path):
    """The seed's TIPC command, in a copy of the repository, passes every stage."""
    repo, env = repo_copy(tmp_path)
    proc = subprocess.run(['bash', 'test_tipc/test_train_inference_python.sh',
                           'test_tipc/configs/lmf/train_infer_python.txt', 'lite_train_lite_infer'],
                          cwd=str(repo), env=env, capture_output=True, text=True, timeout=900)
    log_path = repo / 'log' / 'lmf' / 'lite_train_lite_infer' / 'results_python.log'
    results = log_path.read_text().splitlines() if log_path.exists() else []
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-3000:]
    assert results and all(line.startswith('Run successfully with command - ') for line in results), results
    stages = [(stage, emotion) for emotion in hparams.EMOTIONS
              for stage in ('train.py', 'test.py', 'export_model.py', 'infer.py')]
    for stage, emotion in stages:
        assert any(stage in line and '--emotion={}'.format(emotion) in line for line in results), (stage, emotion)
    # prepare, then per emotion: train, eval, export, inference at batch sizes 1 and 32
    assert len(results) == 1 + 5 * len(hparams.EMOTIONS), results
    for emotion in hparams.EMOTIONS:
        for batch_size in (1, 32):
            assert any('infer.py' in line and '--emotion={}'.format(emotion) in line
                       and '--batch_size={}'.format(batch_size) in line for line in results)
        saved = glob.glob(str(repo / 'log' / 'lmf' / 'lite_train_lite_infer' / 'out_prob' / '*_batchsize_1'
                              / (emotion + '_prob.npy')))
        assert saved, emotion
        for path in saved:
            np.testing.assert_allclose(np.load(path).sum(axis=1), 1.0, atol=1e-6)
