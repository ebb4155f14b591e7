"""croissant.json: the Croissant (MLCommons, JSON-LD) description of a release, generated from it.

`describe(root, ...)` reads the release directory `root` (its Parquet files, their sha256 and
schemas) and returns the Croissant document as a dict: the dataset's name, description,
version, licence, citation, creators, date and Responsible-AI statements (from the dataset
metadata file, dataset/metadata.yaml), one FileObject per Parquet file with its sha256, and one
RecordSet per top-level table (documents, annotations, spans, and any other table that
`stancekit.columns.tables` declares) with every column's dataType and description taken from
those declarations, the same ones README's column table and the dataset card show.

Plain dicts only: the release does not need `mlcroissant`; the tests validate the output with it.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from . import columns
from ._files import file_sha256
from .errors import InputError
from .taxonomy import Taxonomy

FILE = "croissant.json"
CONFORMS_TO = "http://mlcommons.org/croissant/1.0"
PARQUET = "application/x-parquet"
# The JSON-LD context of Croissant 1.0 with its Responsible-AI vocabulary (as the spec gives it).
CONTEXT = {
    "@language": "en", "@vocab": "https://schema.org/", "sc": "https://schema.org/",
    "cr": "http://mlcommons.org/croissant/", "rai": "http://mlcommons.org/croissant/RAI/",
    "dct": "http://purl.org/dc/terms/", "citeAs": "cr:citeAs", "column": "cr:column",
    "equivalentProperty": "cr:equivalentProperty", "samplingRate": "cr:samplingRate",
    "conformsTo": "dct:conformsTo", "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"}, "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract", "field": "cr:field", "fileProperty": "cr:fileProperty", "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet", "format": "cr:format", "includes": "cr:includes", "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath", "key": "cr:key", "md5": "cr:md5", "parentField": "cr:parentField", "path": "cr:path",
    "recordSet": "cr:recordSet", "references": "cr:references", "regex": "cr:regex", "repeated": "cr:repeated",
    "replace": "cr:replace", "separator": "cr:separator", "source": "cr:source", "subField": "cr:subField",
    "transform": "cr:transform",
}
# The Responsible-AI statements a metadata file may give (Croissant RAI 1.0), written as `rai:<name>`.
RAI_FIELDS = (
    "dataCollection", "dataCollectionType", "dataCollectionMissingData", "dataCollectionRawData",
    "dataCollectionTimeframe", "dataPreprocessingProtocol", "dataAnnotationProtocol", "dataAnnotationPlatform",
    "dataAnnotationAnalysis", "annotationsPerItem", "annotatorDemographics", "machineAnnotationTools",
    "dataUseCases", "dataBiases", "dataLimitations", "dataSocialImpact", "personalSensitiveInformation",
    "dataReleaseMaintenancePlan",
)
# Record keys: the columns that identify a row of each table.
KEYS = {"documents": ["doc_id"]}


class CroissantError(InputError):
    """The release cannot be described: an unreadable metadata file, or a column nobody declared."""


def read_metadata(path: str | Path) -> dict:
    """The dataset metadata file (YAML): description, license, citation, creators, datasheet, keywords, rai.

    Raises CroissantError naming the file when it is unreadable, not a mapping, or gives an
    unknown RAI statement.
    """
    path = Path(path)
    try:
        meta = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CroissantError(f"{path}: cannot read the dataset metadata ({exc})") from exc
    if not isinstance(meta, dict):
        raise CroissantError(f"{path}: expected a mapping of dataset metadata")
    unknown = sorted(set(meta.get("rai") or {}) - set(RAI_FIELDS))
    if unknown:
        raise CroissantError(f"{path}: unknown RAI statement(s) {', '.join(unknown)} (known: {', '.join(RAI_FIELDS)})")
    return meta


def data_type(typ: pa.DataType) -> tuple[str, bool]:
    """The Croissant dataType of an Arrow type, and whether the field is repeated (a list).
    Raises CroissantError for an Arrow type Croissant has no dataType for."""
    if pa.types.is_list(typ):
        inner, _ = data_type(typ.value_type)
        return inner, True
    if pa.types.is_dictionary(typ) or pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return "sc:Text", False
    if pa.types.is_integer(typ):
        return "sc:Integer", False
    if pa.types.is_floating(typ):
        return "sc:Float", False
    if pa.types.is_boolean(typ):
        return "sc:Boolean", False
    raise CroissantError(f"no Croissant dataType for Arrow type {typ}")


def _file_object(root: Path, name: str, known: dict | None) -> dict:
    """A FileObject; `known` is the file's manifest entry (sha256, bytes) when the caller has it."""
    path = root / name
    digest, size = (known["sha256"], known["bytes"]) if known else (file_sha256(path), path.stat().st_size)
    return {"@type": "cr:FileObject", "@id": name, "name": name, "contentUrl": name,
            "encodingFormat": PARQUET, "contentSize": f"{size} B", "sha256": digest}


def _field(field_id: str, name: str, doc: str, typ: pa.DataType, file: str, column: str, json_path: str | None) -> dict:
    dtype, repeated = data_type(typ)
    source = {"fileObject": {"@id": file}, "extract": {"column": column}}
    if json_path:
        source["transform"] = {"jsonPath": json_path}
    field: dict[str, object] = {"@type": "cr:Field", "@id": field_id, "name": name, "description": doc, "dataType": dtype, "source": source}
    if repeated:
        field["repeated"] = True
    return field


def _record_set(root: Path, table: str, declared: dict[str, columns.Column]) -> dict:
    file = f"{table}.parquet"
    schema = pq.read_schema(root / file)
    fields = []
    for f in schema:
        col = declared.get(f.name)
        if col is None:
            raise CroissantError(f"{root / file}: column {f.name!r} is not declared in stancekit.columns")
        if not pa.types.is_struct(f.type):
            fields.append(_field(f"{table}/{f.name}", f.name, col.doc, f.type, file, f.name, None))
            continue
        parts = dict(col.parts)  # a struct: one subField per child, read from the column by its name
        missing = [child.name for child in f.type if child.name not in parts]
        if missing:
            raise CroissantError(f"{root / file}: {f.name}.{missing[0]} is not declared in stancekit.columns")
        fields.append({"@type": "cr:Field", "@id": f"{table}/{f.name}", "name": f.name, "description": col.doc,
                       "subField": [_field(f"{table}/{f.name}/{child.name}", child.name, parts[child.name],
                                           child.type, file, f.name, child.name) for child in f.type]})
    description = f"{file}: {columns.TABLE_DOCS.get(table, 'one record per row')}."
    record = {"@type": "cr:RecordSet", "@id": table, "name": table, "description": description, "field": fields}
    if table in KEYS:
        record["key"] = [{"@id": f"{table}/{k}"} for k in KEYS[table]]
    return record


def _date(root: Path) -> str | None:
    """The day the labels were last changed: the latest `updated_at` (else `created_at`) of annotations.parquet."""
    path = root / "annotations.parquet"
    if not path.is_file():
        return None
    names = pq.read_schema(path).names
    for column in ("updated_at", "created_at"):
        if column in names:
            latest = pc.max(pq.read_table(path, columns=[column]).column(0)).as_py()
            if latest:
                return latest[:10]
    return None


def describe(root: Path, taxonomy: Taxonomy, version: str, metadata: dict | None = None,
             files: dict[str, dict] | None = None) -> dict:
    """The Croissant document of the release directory `root` (its Parquet files must be written).

    `metadata` is the dataset metadata file's content (read_metadata); without it only what the
    release itself knows is given. `files` maps a file's path in the release to its manifest
    entry (sha256, bytes), when the caller has computed them already. Raises CroissantError for
    a Parquet table or column that `stancekit.columns` does not declare.
    """
    meta = metadata or {}
    root = Path(root)
    parquet = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.parquet"))
    declared = {name: {c.name: c for c in cols} for name, cols in columns.tables(taxonomy).items()}
    tables = [name[:-len(".parquet")] for name in parquet if "/" not in name]
    for table in tables:
        if table not in declared:
            raise CroissantError(f"{root / (table + '.parquet')}: table {table!r} has no column declarations "
                                 "in stancekit.columns.tables")
    doc = {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": taxonomy.name,
        "description": meta.get("description") or
        f"The stance of {taxonomy.actor['name']} toward {taxonomy.target['name']}, and the conditions attached to it.",
        "version": version,
    }
    for key in ("url", "license", "citeAs", "keywords", "inLanguage"):
        if meta.get(key):
            doc[key] = meta[key]
    if meta.get("creators"):
        doc["creator"] = [{"@type": f"sc:{c.get('type', 'Person')}", "name": c["name"],
                           **({"url": c["url"]} if c.get("url") else {})} for c in meta["creators"]]
    if meta.get("datasheet"):
        doc["subjectOf"] = {"@type": "sc:CreativeWork", "name": "Datasheet", "url": meta["datasheet"]}
    date = _date(root)
    if date:  # no datePublished: a build reads no clock (the same inputs give the same bytes)
        doc["dateModified"] = date
    for name, text in (meta.get("rai") or {}).items():
        doc[f"rai:{name}"] = text
    doc["distribution"] = [_file_object(root, name, (files or {}).get(name)) for name in parquet]
    doc["recordSet"] = [_record_set(root, table, declared[table]) for table in tables]
    return doc
