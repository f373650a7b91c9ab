//! The vector index. [`VectorStore`] is the seam a server-backed store
//! plugs into; [`FlatStore`] is the embedded one: two append-only files,
//! `vectors.f32` (the exact vectors) and `vectors.i8` (each vector scaled
//! to int8, with its scale), read with `pread` so nothing but the page
//! cache holds them. A query scans the int8 file and rescores the best
//! candidates with the f32 vectors.
//!
//! Slots are only ever appended; the index's database says which slots
//! are live, so a reader never sees a slot change under it, and a writer
//! killed mid-append leaves a tail the next writer cuts off.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// A vector index keyed by slot numbers that the caller records.
pub trait VectorStore: Send + Sync {
    /// Dimensions of every vector.
    fn dims(&self) -> usize;
    /// Stores vectors (normalised here) under consecutive slots from
    /// `first`; durable when this returns.
    fn put(&mut self, first: u64, vectors: &[Vec<f32>]) -> std::io::Result<()>;
    /// [`VectorStore::put`] with what each vector is of; a store that keeps
    /// a payload (Qdrant) stores it.
    fn put_chunks(&mut self, first: u64, vectors: &[Vec<f32>], meta: &[PointMeta]) -> std::io::Result<()> {
        let _ = meta;
        self.put(first, vectors)
    }
    /// Drops every slot from `slots` on (an uncommitted tail).
    fn truncate(&mut self, slots: u64) -> std::io::Result<()>;
    /// Forgets the vectors of chunks no note holds any more. The embedded
    /// store keeps them as dead slots (the index database no longer points
    /// at them); a server-backed store deletes them.
    fn remove(&mut self, hashes: &[String]) -> std::io::Result<()> {
        let _ = hashes;
        Ok(())
    }
    /// The `k` nearest slots by cosine similarity, best first.
    fn search(&self, query: &[f32], k: usize) -> std::io::Result<Vec<(u64, f32)>>;
}

/// What a stored vector is of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointMeta {
    pub hash: String,
    /// The first note holding the chunk when it was embedded.
    pub path: String,
    pub heading: String,
}

/// Scales `v` to unit length (a zero vector stays zero).
pub fn normalise(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm == 0.0 { v.to_vec() } else { v.iter().map(|x| x / norm).collect() }
}

/// int8 codes of `v` and the scale that turns them back.
fn quantise(v: &[f32]) -> (f32, Vec<i8>) {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    if max == 0.0 {
        return (0.0, vec![0; v.len()]);
    }
    let scale = max / 127.0;
    (scale, v.iter().map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8).collect())
}

/// The dot product of int8 codes with codes as stored (bytes), read in
/// place.
fn dot_i8(a: &[i8], b: &[u8]) -> i32 {
    a.iter().zip(b).map(|(x, y)| i32::from(*x) * i32::from(i8::from_ne_bytes([*y]))).sum()
}

fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[derive(PartialEq)]
struct Scored(f32, u64);

impl Eq for Scored {}

impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scored {
    // Reversed, so the heap's top is the worst kept candidate.
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0).then(other.1.cmp(&self.1))
    }
}

/// Keeps the `n` best of what it is offered.
struct TopN {
    n: usize,
    heap: BinaryHeap<Scored>,
}

impl TopN {
    fn new(n: usize) -> Self {
        Self { n, heap: BinaryHeap::with_capacity(n + 1) }
    }

    fn offer(&mut self, score: f32, slot: u64) {
        if self.heap.len() < self.n {
            self.heap.push(Scored(score, slot));
        } else if self.heap.peek().is_some_and(|w| score > w.0) {
            self.heap.pop();
            self.heap.push(Scored(score, slot));
        }
    }

    fn into_sorted(self) -> Vec<(u64, f32)> {
        let mut v: Vec<_> = self.heap.into_iter().map(|Scored(s, slot)| (slot, s)).collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }
}

/// The embedded vector store: flat files in one folder.
pub struct FlatStore {
    dims: usize,
    f32_path: PathBuf,
    f32_file: File,
    i8_file: File,
}

impl FlatStore {
    pub const F32: &'static str = "vectors.f32";
    pub const I8: &'static str = "vectors.i8";

    /// Opens (creating when `write`) the store in `dir`.
    pub fn open(dir: &Path, dims: usize, write: bool) -> std::io::Result<Self> {
        let open = |name: &str| {
            let mut o = OpenOptions::new();
            o.read(true);
            if write {
                o.write(true).create(true);
            }
            o.open(dir.join(name))
        };
        Ok(Self { dims, f32_path: dir.join(Self::F32), f32_file: open(Self::F32)?, i8_file: open(Self::I8)? })
    }

    fn i8_stride(&self) -> usize {
        4 + self.dims
    }

    /// Slots present in the files (committed or not).
    pub fn stored(&self) -> std::io::Result<u64> {
        Ok(self.i8_file.metadata()?.len() / self.i8_stride() as u64)
    }

    /// The exact vector in `slot`.
    pub fn vector(&self, slot: u64) -> std::io::Result<Vec<f32>> {
        let mut buf = vec![0u8; self.dims * 4];
        let offset = slot * buf.len() as u64;
        self.f32_file.read_exact_at(&mut buf, offset)?;
        Ok(buf.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
    }

    /// Exact top `k` by scanning every f32 vector: the baseline the int8
    /// scan is measured against.
    pub fn search_exact(&self, query: &[f32], k: usize) -> std::io::Result<Vec<(u64, f32)>> {
        let q = normalise(query);
        let stride = self.dims * 4;
        let total = self.f32_file.metadata()?.len() / stride as u64;
        let mut top = TopN::new(k);
        let per_block = (1 << 20) / stride.max(1);
        let mut buf = vec![0u8; per_block * stride];
        let mut v = vec![0f32; self.dims];
        let mut slot = 0u64;
        while slot < total {
            let n = per_block.min((total - slot) as usize);
            let got = read_full_at(&self.f32_file, &mut buf[..n * stride], slot * stride as u64)?;
            for (i, rec) in buf[..got - got % stride].chunks_exact(stride).enumerate() {
                for (d, b) in v.iter_mut().zip(rec.chunks_exact(4)) {
                    *d = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                }
                top.offer(dot_f32(&q, &v), slot + i as u64);
            }
            if got < n * stride {
                break;
            }
            slot += n as u64;
        }
        Ok(top.into_sorted())
    }

    pub fn path(&self) -> &Path {
        &self.f32_path
    }
}

/// Reads as much of `buf` as the file holds at `offset`.
fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

impl VectorStore for FlatStore {
    fn dims(&self) -> usize {
        self.dims
    }

    fn put(&mut self, first: u64, vectors: &[Vec<f32>]) -> std::io::Result<()> {
        let mut f = Vec::with_capacity(vectors.len() * self.dims * 4);
        let mut q = Vec::with_capacity(vectors.len() * self.i8_stride());
        for v in vectors {
            if v.len() != self.dims {
                return Err(std::io::Error::other(format!(
                    "a vector has {} dimensions, the index {}",
                    v.len(),
                    self.dims
                )));
            }
            let v = normalise(v);
            f.extend(v.iter().flat_map(|x| x.to_le_bytes()));
            let (scale, codes) = quantise(&v);
            q.extend(scale.to_le_bytes());
            q.extend(codes.iter().map(|c| c.to_ne_bytes()[0]));
        }
        self.f32_file.write_all_at(&f, first * (self.dims * 4) as u64)?;
        self.i8_file.write_all_at(&q, first * self.i8_stride() as u64)?;
        self.f32_file.sync_data()?;
        self.i8_file.sync_data()
    }

    fn truncate(&mut self, slots: u64) -> std::io::Result<()> {
        if self.stored()? > slots || self.f32_file.metadata()?.len() > slots * (self.dims * 4) as u64 {
            self.f32_file.set_len(slots * (self.dims * 4) as u64)?;
            self.i8_file.set_len(slots * self.i8_stride() as u64)?;
        }
        Ok(())
    }

    fn search(&self, query: &[f32], k: usize) -> std::io::Result<Vec<(u64, f32)>> {
        let q = normalise(query);
        let (_, qcodes) = quantise(&q);
        let stride = self.i8_stride();
        let total = self.stored()?;
        // Enough int8 candidates that the exact rescore finds the true top k.
        let mut top = TopN::new((k * 4).max(k + 32));
        let per_block = (1 << 20) / stride;
        let mut buf = vec![0u8; per_block * stride];
        let mut slot = 0u64;
        while slot < total {
            let n = per_block.min((total - slot) as usize);
            let got = read_full_at(&self.i8_file, &mut buf[..n * stride], slot * stride as u64)?;
            for (i, rec) in buf[..got - got % stride].chunks_exact(stride).enumerate() {
                let scale = f32::from_le_bytes([rec[0], rec[1], rec[2], rec[3]]);
                top.offer(scale * dot_i8(&qcodes, &rec[4..]) as f32, slot + i as u64);
            }
            if got < n * stride {
                break;
            }
            slot += n as u64;
        }
        let mut exact = TopN::new(k);
        for (slot, _) in top.into_sorted() {
            match self.vector(slot) {
                Ok(v) => exact.offer(dot_f32(&q, &v), slot),
                // A tail a writer is cutting off: not part of any index.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
                Err(e) => return Err(e),
            }
        }
        Ok(exact.into_sorted())
    }
}

/// The conformance suite every [`VectorStore`] passes: run on the
/// embedded store always and on a server's when one is configured.
#[cfg(test)]
pub mod conformance {
    use super::*;

    /// Axis-aligned vectors with a little of the next axis: each one's
    /// nearest neighbour is itself, then the one after it.
    fn basis(dims: usize, i: usize) -> Vec<f32> {
        let mut v = vec![0.0; dims];
        v[i % dims] = 1.0;
        v[(i + 1) % dims] = 0.25;
        v
    }

    /// Runs every check on an empty store of 8 dimensions.
    pub fn run(store: &mut dyn VectorStore) {
        assert_eq!(store.dims(), 8);
        let meta =
            |i: usize| PointMeta { hash: format!("h{i}"), path: format!("n{i}.md"), heading: String::new() };
        assert!(store.search(&basis(8, 0), 3).unwrap().is_empty());
        store.put(0, &(0..3).map(|i| basis(8, i)).collect::<Vec<_>>()).unwrap();
        let vs: Vec<Vec<f32>> = (3..6).map(|i| basis(8, i).iter().map(|x| x * 7.0).collect()).collect();
        store.put_chunks(3, &vs, &(3..6).map(meta).collect::<Vec<_>>()).unwrap();

        // Nearest first, cosine (length does not matter), at most k.
        for i in 0..6 {
            let found = store.search(&basis(8, i), 2).unwrap();
            assert_eq!(found.len(), 2);
            assert_eq!(found[0].0, i as u64, "query {i}: {found:?}");
            assert!((found[0].1 - 1.0).abs() < 1e-3, "{found:?}");
            assert!(found[0].1 >= found[1].1);
        }
        let all = store.search(&basis(8, 2), 100).unwrap();
        assert_eq!(all.len(), 6);
        assert!(all.windows(2).all(|w| w[0].1 >= w[1].1));

        // A slot written again is replaced.
        store.put(1, &[basis(8, 6)]).unwrap();
        assert_eq!(store.search(&basis(8, 6), 1).unwrap()[0].0, 1);

        // The tail from a slot on is gone; slots before it stay.
        store.truncate(4).unwrap();
        let left: Vec<u64> = store.search(&basis(8, 4), 100).unwrap().into_iter().map(|(s, _)| s).collect();
        assert_eq!(left.len(), 4, "{left:?}");
        assert!(left.iter().all(|s| *s < 4));
        store.put(4, &[basis(8, 7)]).unwrap();
        assert_eq!(store.search(&basis(8, 7), 1).unwrap()[0].0, 4);

        // Removing chunks by hash never fails (the embedded store keeps dead
        // slots, which the index database no longer maps to a note).
        store.remove(&["h3".into(), "nothing".into()]).unwrap();
        store.remove(&[]).unwrap();

        // Other dimensions are refused and change nothing.
        assert!(store.put(5, &[vec![1.0; 3]]).is_err());
        assert_eq!(store.search(&basis(8, 0), 1).unwrap()[0].0, 0);
    }

    #[test]
    fn flat_store_conforms() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = FlatStore::open(dir.path(), 8, true).unwrap();
        run(&mut store);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_vectors(n: usize, dims: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut x = seed;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f32 / (1u64 << 53) as f32 - 0.5
        };
        (0..n).map(|_| (0..dims).map(|_| next()).collect()).collect()
    }

    #[test]
    fn int8_scan_with_rescore_matches_exact() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = FlatStore::open(dir.path(), 32, true).unwrap();
        let vs = random_vectors(3000, 32, 7);
        store.put(0, &vs[..1000]).unwrap();
        store.put(1000, &vs[1000..]).unwrap();
        for q in random_vectors(20, 32, 99) {
            let approx: Vec<u64> = store.search(&q, 10).unwrap().into_iter().map(|(s, _)| s).collect();
            let exact: Vec<u64> = store.search_exact(&q, 10).unwrap().into_iter().map(|(s, _)| s).collect();
            assert_eq!(approx, exact);
        }
        store.truncate(5).unwrap();
        assert_eq!(store.stored().unwrap(), 5);
        assert!(store.search(&vs[3], 3).unwrap()[0].0 == 3);
    }

    #[test]
    fn wrong_dimensions_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = FlatStore::open(dir.path(), 4, true).unwrap();
        assert!(store.put(0, &[vec![1.0; 3]]).is_err());
    }
}
