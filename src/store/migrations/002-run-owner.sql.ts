// Which process runs a run ("<host>:<pid>"), so a restart cancels only the
// runs whose process is gone and never those of a live process sharing the
// data directory.
export default `
ALTER TABLE runs ADD COLUMN owner TEXT;
`;
