"""The store: the only code that runs SQL, one module per job, one `Catalog` to call."""

from core.store.catalog import Catalog
from core.store.db import CatalogFull, StorageError, db_path, fs_path
from core.store.enrich import EnrichItem
from core.store.folders import FolderDrive
from core.store.media import MediaBrief, MediaRow, NewFile
from core.store.names import FileNameRow
from core.store.people import FaceRow, PersonRow
from core.store.schema import SCHEMA_VERSION
from core.store.vectors import IndexHeader

__all__ = ["SCHEMA_VERSION", "Catalog", "CatalogFull", "EnrichItem", "FaceRow", "FileNameRow",
           "FolderDrive", "IndexHeader", "MediaBrief", "MediaRow", "NewFile", "PersonRow",
           "StorageError", "db_path", "fs_path"]
