"""Data-centric error analysis of a model's predictions, computed in DuckDB.

Vocabulary, used with one meaning each in code, JSON and the interface:

- example: one evaluated item, identified by its id (unique within a run);
- label / prediction: the true and the predicted class, compared as text;
- error: the prediction differs from the label (or, in per-example score mode,
  the score crosses the threshold, or the ``correct`` flag is false);
- attribute / slice: a metadata column, and the examples with one of its values;
- tag: a boolean property used in error analysis; examples with no tag form
  the untagged group;
- support: the number of examples a metric is computed on;
- gap to overall: slice error rate minus overall error rate (positive = worse);
- HLP: human-level accuracy; room for improvement = HLP - accuracy;
  potential gain = share of data x max(room for improvement, 0).

Typical use::

    from analysis import load_config, load_dataset, summarize
    summary = summarize(load_dataset(load_config("sample_data/speech_commands")))
"""

from analysis.config import DatasetConfig, load_config
from analysis.dataset import load_dataset
from analysis.errors import AnalysisError, ConfigError, InputError
from analysis.model import Dataset
from analysis.summary import summarize

__all__ = [
    "AnalysisError",
    "ConfigError",
    "Dataset",
    "DatasetConfig",
    "InputError",
    "load_config",
    "load_dataset",
    "summarize",
]
