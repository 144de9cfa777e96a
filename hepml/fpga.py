"""Chapter 6's shared code: what lesson 6.1 writes out and explains, saved here for lesson 6.2.

In d2l's manner, a function is taught where it is first written, in lesson 6.1
(``notebooks/06-fpga/01-fpga-jet-tagger.ipynb``), and the cells mark it ``#@save``; lesson 6.2
imports it from here instead of copying it. ``tests/test_shared_lesson_code.py`` checks that each
saved definition here has exactly the source the lesson shows, so the two cannot drift apart.
Only ``check_cpp_compiler`` is not in the lesson: it is setup boilerplate, not a teaching point.
"""

from __future__ import annotations

import contextlib
import io
import shutil

import hls4ml
import numpy as np
import torch
from quantizers import get_fixed_quantizer_np
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from tqdm import tqdm

SEED = 42  # the hls4ml tutorial's split uses random_state = 42 too


def check_cpp_compiler() -> None:
    """hls4ml's emulation compiles C++: without a compiler, say so in one sentence before anything runs."""
    if shutil.which("g++") is None:
        raise RuntimeError("hls4ml emulates the firmware by compiling C++, and no C++ compiler (g++) was found: "
                           "install one (Debian/Ubuntu: sudo apt install g++; macOS: xcode-select --install; conda: "
                           "conda install -c conda-forge gxx) and restart the kernel.")


# ---------------------------------------------------------------- saved from lesson 6.1, section 1
def ap_fixed(x, width, integer, rounding="TRN", overflow="WRAP", signed=True):  #@save
    """x as the HLS type ap_fixed<width, integer, AP_<rounding>, AP_<overflow>> (ap_ufixed if not signed)."""
    k = int(signed)
    return get_fixed_quantizer_np(rounding, overflow)(np.asarray(x, dtype=np.float64), k, integer - k, width - integer)


# ---------------------------------------------------------------- section 2
def sample_label(ax, mode):  #@save
    """Who made the jets: OpenML's real table, or this book's simulation (never an experiment's wordmark)."""
    text = "hls4ml LHC jet dataset (OpenML 42468)" if mode == "full" else "This book's Pythia 8 sample, 13 TeV"
    ax.set_title(text, fontsize=13, loc="left")


def split_and_standardise(features, labels, seed=SEED):  #@save
    """60 % training, 20 % validation and 20 % test jets (the hls4ml tutorial's split), each feature
    standardised with the training jets' mean and standard deviation."""
    x_train, x_test, y_train, y_test = train_test_split(features.to_numpy(), labels, test_size=0.2, random_state=seed)
    x_train, x_val, y_train, y_val = train_test_split(x_train, y_train, test_size=0.25, random_state=seed)
    scaler = StandardScaler().fit(x_train)
    x_train, x_val, x_test = (scaler.transform(x).astype(np.float32) for x in (x_train, x_val, x_test))
    return x_train, x_val, x_test, y_train, y_val, y_test


# ---------------------------------------------------------------- section 3
def benchmark_mlp():  #@save
    return torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.ReLU(), torch.nn.Linear(64, 32), torch.nn.ReLU(),
                               torch.nn.Linear(32, 32), torch.nn.ReLU(), torch.nn.Linear(32, 5))


def train_float(model, x, y, x_val, y_val, epochs, lr=2e-3, batch=512, patience=10, seed=SEED):  #@save
    """Adam on the cross-entropy with early stopping; the best validation weights are kept."""
    torch.manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr)
    x, y, x_val, y_val = map(torch.as_tensor, (x, y, x_val, y_val))
    best, best_state, waited, history = np.inf, None, 0, []
    bar = tqdm(range(epochs), desc="float training", unit="epoch", mininterval=1)
    for _ in bar:
        model.train()
        for rows in torch.randperm(len(x)).split(batch):
            optimiser.zero_grad()
            torch.nn.functional.cross_entropy(model(x[rows]), y[rows]).backward()
            optimiser.step()
        model.eval()
        with torch.no_grad():
            loss = torch.nn.functional.cross_entropy(model(x_val), y_val).item()
        history.append(loss)
        bar.set_postfix(val_loss=f"{loss:.4f}", refresh=False)
        if loss < best - 1e-4:
            best, best_state, waited = loss, {k: v.clone() for k, v in model.state_dict().items()}, 0
        elif (waited := waited + 1) >= patience:
            break
    model.load_state_dict(best_state)
    return history


def torch_scores(model, x):  #@save
    with torch.no_grad():
        return model(torch.as_tensor(x)).numpy()


def accuracy(scores, y):  #@save
    return float(np.mean(np.argmax(scores, axis=1) == y))


# ---------------------------------------------------------------- section 4
def hls_from_torch(model, precision, output_dir, granularity="model", reuse_factor=1, edit=None):  #@save
    """hls4ml's emulation of `model` with every number in `precision` (or per-layer edits of the config),
    its C++ project written to `output_dir`."""
    config = hls4ml.utils.config_from_pytorch_model(model, input_shape=(16,), granularity=granularity, backend="Vitis",
                                                     default_precision=precision, default_reuse_factor=reuse_factor)
    if edit is not None:
        edit(config)
    with contextlib.redirect_stdout(io.StringIO()):  # hls4ml prints every layer it converts
        emulation = hls4ml.converters.convert_from_pytorch_model(
            model, hls_config=config, output_dir=str(output_dir), backend="Vitis", io_type="io_parallel")
        emulation.compile()
    return emulation


def hls_scores(emulation, x):  #@save
    return emulation.predict(np.ascontiguousarray(x, dtype=np.float32))


def largest_values(model, x):  #@save
    """The largest |sum| each Linear layer computes (before its ReLU) and the largest output of each ReLU."""
    sums, outputs = [], []
    with torch.no_grad():
        h = torch.as_tensor(x)
        for layer in model:
            h = layer(h)
            (sums if isinstance(layer, torch.nn.Linear) else outputs).append(float(h.abs().max()))
    return sums, outputs


def integer_bits(values):  #@save
    """Integer bits (sign excluded) that hold the largest |value|: the binary point of a tensor."""
    return int(np.ceil(np.log2(np.abs(values).max())))


def uniform_integer_bits(layer_sums, headroom=1.25):  #@save
    """I (sign included) of one ap_fixed<W,I> for every number: the sign bit, and the integer bits of the
    largest sum with 25 % of headroom for jets larger than the training ones."""
    return 1 + integer_bits(headroom * max(layer_sums))


# ---------------------------------------------------------------- section 5
LAYER_SHAPES = [(16, 64), (64, 32), (32, 32), (32, 5)]  #@save


def bit_operations(kernels, weight_bits, input_bits):  #@save
    """Estimated BOPs (Baskin et al.): per layer, non-zero weights x (b_w b_a + b_w + b_a + log2 n_in)."""
    return float(sum(np.count_nonzero(k) * (w * a + w + a + np.log2(n_in))
                     for k, (n_in, _), w, a in zip(kernels, LAYER_SHAPES, weight_bits, input_bits)))
