// IndexedDB: "kv" holds the session, bundle, caches and device keys; "outbox" every record
// to send, each written before anything is sent.
function opener() {
  let opened = null;
  return () => {
    if (!opened) {
      opened = new Promise((resolve, reject) => {
        const req = indexedDB.open("wasteflow-field", 1);
        req.onupgradeneeded = () => {
          const d = req.result;
          d.createObjectStore("kv");
          d.createObjectStore("outbox", { keyPath: "id", autoIncrement: true });
        };
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
    }
    return opened;
  };
}
const open = opener();

async function run(store, mode, fn) {
  const d = await open();
  return new Promise((resolve, reject) => {
    const tx = d.transaction(store, mode);
    const result = fn(tx.objectStore(store));
    tx.oncomplete = () => resolve(result && "result" in result ? result.result : result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

export const db = {
  get: (key) => run("kv", "readonly", (s) => s.get(key)),
  set: (key, value) => run("kv", "readwrite", (s) => s.put(value, key)),
  del: (key) => run("kv", "readwrite", (s) => s.delete(key)),
  items: () => run("outbox", "readonly", (s) => s.getAll()),
  item: (id) => run("outbox", "readonly", (s) => s.get(id)),
  // Resolves once the item is on disk: nothing is sent before that.
  add: (item) => run("outbox", "readwrite", (s) => s.add(item)),
  put: (item) => run("outbox", "readwrite", (s) => s.put(item)),
  clear: () => run("outbox", "readwrite", (s) => s.clear()),
};
