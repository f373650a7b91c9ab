//! Vectors in a Qdrant server ([`QdrantVectors`]), over gRPC with
//! qdrant-client. One collection per vault index, named in the index's
//! metadata; a point's id is its slot and its payload holds the slot, the
//! chunk hash and (where the reindex knew it) the first note path and
//! heading holding the chunk. The index database stays the source of
//! truth: a slot no note holds is dropped from results by the reader, so a
//! point left behind by a killed run is never shown.
//!
//! The [`VectorStore`] trait is synchronous; calls run through
//! [`super::remote::Blocking`].

use std::collections::HashMap;

use qdrant_client::Qdrant;
use qdrant_client::qdrant::{
    CollectionExistsRequest, Condition, CreateCollection, DeletePoints, Distance, FieldType, Filter,
    PointStruct, QueryPoints, Range, UpsertPoints, Value, VectorParams, point_id::PointIdOptions,
};

use super::vectors::{PointMeta, VectorStore, normalise};

/// Where the server is and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QdrantConfig {
    pub url: String,
    pub api_key: Option<String>,
}

impl QdrantConfig {
    /// `CTL_QDRANT_URL` and `CTL_QDRANT_API_KEY` (each also as `*_FILE`).
    pub fn from_env() -> Result<Self, String> {
        let url = super::env_value("CTL_QDRANT_URL")?.ok_or(
            "[rag] vectors = \"qdrant\" needs CTL_QDRANT_URL (or CTL_QDRANT_URL_FILE), e.g. http://localhost:6334",
        )?;
        Ok(Self { url, api_key: super::env_value("CTL_QDRANT_API_KEY")? })
    }
}

/// The name of a vault index's collection: `ctl_<vault>_<generation>`,
/// with characters Qdrant refuses replaced.
pub fn collection_name(vault: &str, generation: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
    };
    format!("ctl_{}_{}", clean(vault), clean(generation))
}

pub struct QdrantVectors {
    client: Qdrant,
    collection: String,
    dims: usize,
    rt: super::remote::Blocking,
}

fn err(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(format!("qdrant: {e}"))
}

impl QdrantVectors {
    /// Connects; with `create`, makes the collection (cosine distance,
    /// keyword index on `hash`, integer index on `slot`) when it is missing.
    pub fn open(cfg: &QdrantConfig, collection: &str, dims: usize, create: bool) -> std::io::Result<Self> {
        let rt = super::remote::Blocking::new("ctl-qdrant")?;
        let mut builder = Qdrant::from_url(&cfg.url).skip_compatibility_check();
        if let Some(key) = &cfg.api_key {
            builder = builder.api_key(key.clone());
        }
        let client = {
            let _guard = rt.enter();
            builder.build().map_err(err)?
        };
        let store = Self { client, collection: collection.to_owned(), dims, rt };
        if create {
            store.ensure_collection()?;
        }
        Ok(store)
    }

    pub fn collection(&self) -> &str {
        &self.collection
    }

    fn ensure_collection(&self) -> std::io::Result<()> {
        let name = self.collection.clone();
        self.rt.run(async {
            let exists = self
                .client
                .collection_exists(CollectionExistsRequest { collection_name: name.clone() })
                .await
                .map_err(err)?;
            if exists {
                return Ok(());
            }
            self.client
                .create_collection(CreateCollection {
                    collection_name: name.clone(),
                    vectors_config: Some(
                        VectorParams {
                            size: self.dims as u64,
                            distance: Distance::Cosine.into(),
                            ..Default::default()
                        }
                        .into(),
                    ),
                    ..Default::default()
                })
                .await
                .map_err(err)?;
            for (field, kind) in [("hash", FieldType::Keyword), ("slot", FieldType::Integer)] {
                self.client
                    .create_field_index(
                        qdrant_client::qdrant::CreateFieldIndexCollectionBuilder::new(&name, field, kind)
                            .wait(true),
                    )
                    .await
                    .map_err(err)?;
            }
            Ok(())
        })
    }

    fn delete(&self, filter: Filter) -> std::io::Result<()> {
        let req = DeletePoints {
            collection_name: self.collection.clone(),
            wait: Some(true),
            points: Some(filter.into()),
            ..Default::default()
        };
        self.rt.run(self.client.delete_points(req)).map(drop).map_err(err)
    }

    /// Drops the collection (an index generation that was replaced).
    pub fn drop_collection(&self) -> std::io::Result<()> {
        self.rt.run(self.client.delete_collection(self.collection.clone())).map(drop).map_err(err)
    }
}

impl VectorStore for QdrantVectors {
    fn dims(&self) -> usize {
        self.dims
    }

    fn put(&mut self, first: u64, vectors: &[Vec<f32>]) -> std::io::Result<()> {
        self.put_chunks(first, vectors, &[])
    }

    fn put_chunks(&mut self, first: u64, vectors: &[Vec<f32>], meta: &[PointMeta]) -> std::io::Result<()> {
        let mut points = Vec::with_capacity(vectors.len());
        for (i, v) in vectors.iter().enumerate() {
            if v.len() != self.dims {
                return Err(std::io::Error::other(format!(
                    "a vector has {} dimensions, the index {}",
                    v.len(),
                    self.dims
                )));
            }
            let slot = first + i as u64;
            let mut payload: HashMap<String, Value> = HashMap::new();
            payload.insert("slot".into(), (slot as i64).into());
            if let Some(m) = meta.get(i) {
                payload.insert("hash".into(), m.hash.clone().into());
                payload.insert("path".into(), m.path.clone().into());
                payload.insert("heading".into(), m.heading.clone().into());
            }
            points.push(PointStruct::new(slot, normalise(v), payload));
        }
        if points.is_empty() {
            return Ok(());
        }
        let req = UpsertPoints {
            collection_name: self.collection.clone(),
            wait: Some(true),
            points,
            ..Default::default()
        };
        self.rt.run(self.client.upsert_points(req)).map(drop).map_err(err)
    }

    fn truncate(&mut self, slots: u64) -> std::io::Result<()> {
        self.delete(Filter::must([Condition::range(
            "slot",
            Range { gte: Some(slots as f64), ..Default::default() },
        )]))
    }

    fn remove(&mut self, hashes: &[String]) -> std::io::Result<()> {
        if hashes.is_empty() {
            return Ok(());
        }
        self.delete(Filter::must([Condition::matches("hash", hashes.to_vec())]))
    }

    fn search(&self, query: &[f32], k: usize) -> std::io::Result<Vec<(u64, f32)>> {
        let req = QueryPoints {
            collection_name: self.collection.clone(),
            query: Some(qdrant_client::qdrant::Query::new_nearest(normalise(query))),
            limit: Some(k as u64),
            ..Default::default()
        };
        let found = self.rt.run(self.client.query(req)).map_err(err)?;
        Ok(found
            .result
            .into_iter()
            .filter_map(|p| match p.id?.point_id_options? {
                PointIdOptions::Num(n) => Some((n, p.score)),
                PointIdOptions::Uuid(_) => None,
            })
            .collect())
    }
}

#[cfg(test)]
#[path = "qdrant_tests.rs"]
mod tests;
