"""Build an immutable, versioned, checksummed Parquet release, and verify one.

The builder side of the package, one module per concern:

- `schemas`: the files of a release and their Arrow schemas, dictionaries and the split rule;
- `writer`: reproducible Parquet (fixed options, row groups in bounded memory) and JSON;
- `builder`: `build()`, streaming the inputs once into a temporary directory renamed into place;
- `manifest`: each file's sha256, size, rows and schema fingerprint, sealed;
- `versioning`: the diff against the previous release and the bump it needs (TFDS semantics);
- `changelog`: CHANGELOG.md from the manifests;
- `card`: the dataset card (README.md) and the table of release columns;
- `verifier`: `verify()`, every file against the manifest;
- `publisher`: `publish()`, a verified build copied into dataset/releases, never over a release.

Reading a release (`stancekit.load`, list, resolve) is `stancekit.read`, which imports none of this.
"""

from ..errors import ReleaseError, ReleaseInputError, ReleaseNotFound, ReleaseRefused
from .builder import OPTIONAL_INPUTS, Inputs, agreement_summary, build, find_inputs, prediction_summary
from .card import CARD, arrow_type_name, columns_table, render_card
from .changelog import CHANGELOG, render_changelog
from .manifest import content_sha256
from .publisher import publish
from .schemas import SPLIT_RULE, SPLITS, hf_data_file, split_of
from .verifier import verify
from .versioning import Unchanged

__all__ = [
    "CARD", "CHANGELOG", "OPTIONAL_INPUTS", "SPLITS", "SPLIT_RULE", "Inputs", "ReleaseError", "ReleaseInputError",
    "ReleaseNotFound", "ReleaseRefused", "Unchanged", "agreement_summary", "arrow_type_name", "build",
    "columns_table", "content_sha256", "find_inputs", "hf_data_file", "prediction_summary", "publish",
    "render_card", "render_changelog", "split_of", "verify",
]
