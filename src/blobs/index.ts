export {
  type BlobErrorCode,
  type BlobInfo,
  type BlobSource,
  type BlobStore,
  type Digest,
  type FileBlobStoreOptions,
  type PutOptions,
  BlobError,
  FileBlobStore,
  isDigest,
  parseDigest,
} from "./blob-store.js";
export { isNotFound, writeJsonAtomic } from "./json-file.js";
export { mapLimit } from "./map-limit.js";
