//! The Qdrant store against a test server built on qdrant-client's own
//! generated gRPC service traits: it records every request (so the tests
//! check the exact messages the store sends) and answers them from an
//! in-memory collection. With `CTL_TEST_QDRANT_URL` set, the conformance
//! suite also runs against that server.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use qdrant_client::qdrant as q;
use qdrant_client::qdrant::collections_server::{Collections, CollectionsServer};
use qdrant_client::qdrant::points_server::{Points, PointsServer};
use tonic::{Request, Response, Status};

use super::*;
use crate::rag::vectors::{VectorStore, conformance};

/// A request the server received, with the API key it carried.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Exists(q::CollectionExistsRequest),
    Create(q::CreateCollection),
    DropCollection(q::DeleteCollection),
    FieldIndex(q::CreateFieldIndexCollection),
    Upsert(q::UpsertPoints),
    Delete(q::DeletePoints),
    Query(q::QueryPoints),
}

/// id → (vector, payload)
type Collection = BTreeMap<u64, (Vec<f32>, HashMap<String, q::Value>)>;

#[derive(Default)]
struct State {
    seen: Mutex<Vec<(Seen, Option<String>)>>,
    collections: Mutex<HashSet<String>>,
    /// collection → id → (vector, payload)
    points: Mutex<HashMap<String, Collection>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    fn record<T>(&self, r: &Request<T>, seen: Seen) {
        let key = r.metadata().get("api-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
        lock(&self.seen).push((seen, key));
    }

    fn take(&self) -> Vec<Seen> {
        lock(&self.seen).drain(..).map(|(s, _)| s).collect()
    }
}

#[derive(Clone)]
struct Server(Arc<State>);

fn done() -> q::PointsOperationResponse {
    q::PointsOperationResponse {
        result: Some(q::UpdateResult { operation_id: Some(1), status: q::UpdateStatus::Completed.into() }),
        ..Default::default()
    }
}

fn dense(v: &q::Vectors) -> Option<Vec<f32>> {
    match v.vectors_options.as_ref()? {
        q::vectors::VectorsOptions::Vector(v) => match v.vector.as_ref()? {
            q::vector::Vector::Dense(d) => Some(d.data.clone()),
            _ => None,
        },
        q::vectors::VectorsOptions::Vectors(_) => None,
    }
}

/// Whether a point's payload passes a filter of `must` field conditions
/// (keyword lists and integer ranges: what the store sends).
fn passes(filter: &q::Filter, payload: &HashMap<String, q::Value>) -> Result<bool, Status> {
    for c in &filter.must {
        let Some(q::condition::ConditionOneOf::Field(f)) = &c.condition_one_of else {
            return Err(Status::unimplemented("only field conditions"));
        };
        let value = payload.get(&f.key).and_then(|v| v.kind.clone());
        let ok = match (&f.r#match, &f.range, value) {
            (Some(m), None, Some(q::value::Kind::StringValue(s))) => match &m.match_value {
                Some(q::r#match::MatchValue::Keywords(k)) => k.strings.contains(&s),
                Some(q::r#match::MatchValue::Keyword(k)) => *k == s,
                _ => return Err(Status::unimplemented("match")),
            },
            (None, Some(r), Some(q::value::Kind::IntegerValue(i))) => {
                let x = i as f64;
                r.gte.is_none_or(|b| x >= b)
                    && r.gt.is_none_or(|b| x > b)
                    && r.lte.is_none_or(|b| x <= b)
                    && r.lt.is_none_or(|b| x < b)
            }
            (_, _, None) => false,
            _ => return Err(Status::unimplemented("condition")),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

#[tonic::async_trait]
impl Points for Server {
    async fn upsert(
        &self,
        r: Request<q::UpsertPoints>,
    ) -> Result<Response<q::PointsOperationResponse>, Status> {
        self.0.record(&r, Seen::Upsert(r.get_ref().clone()));
        let req = r.into_inner();
        if !lock(&self.0.collections).contains(&req.collection_name) {
            return Err(Status::not_found("no such collection"));
        }
        let mut all = lock(&self.0.points);
        let coll = all.entry(req.collection_name).or_default();
        for p in req.points {
            let Some(q::PointId { point_id_options: Some(q::point_id::PointIdOptions::Num(id)) }) = p.id
            else {
                return Err(Status::invalid_argument("numeric ids only"));
            };
            let v =
                p.vectors.as_ref().and_then(dense).ok_or_else(|| Status::invalid_argument("dense vector"))?;
            coll.insert(id, (v, p.payload));
        }
        Ok(Response::new(done()))
    }

    async fn delete(
        &self,
        r: Request<q::DeletePoints>,
    ) -> Result<Response<q::PointsOperationResponse>, Status> {
        self.0.record(&r, Seen::Delete(r.get_ref().clone()));
        let req = r.into_inner();
        let Some(q::points_selector::PointsSelectorOneOf::Filter(filter)) =
            req.points.and_then(|p| p.points_selector_one_of)
        else {
            return Err(Status::unimplemented("delete by filter only"));
        };
        let mut all = lock(&self.0.points);
        let coll = all.entry(req.collection_name).or_default();
        let mut gone = Vec::new();
        for (id, (_, payload)) in coll.iter() {
            if passes(&filter, payload)? {
                gone.push(*id);
            }
        }
        for id in gone {
            coll.remove(&id);
        }
        Ok(Response::new(done()))
    }

    async fn create_field_index(
        &self,
        r: Request<q::CreateFieldIndexCollection>,
    ) -> Result<Response<q::PointsOperationResponse>, Status> {
        self.0.record(&r, Seen::FieldIndex(r.get_ref().clone()));
        Ok(Response::new(done()))
    }

    async fn query(&self, r: Request<q::QueryPoints>) -> Result<Response<q::QueryResponse>, Status> {
        self.0.record(&r, Seen::Query(r.get_ref().clone()));
        let req = r.into_inner();
        let Some(q::query::Variant::Nearest(q::VectorInput {
            variant: Some(q::vector_input::Variant::Dense(d)),
        })) = req.query.and_then(|q| q.variant)
        else {
            return Err(Status::unimplemented("nearest dense queries only"));
        };
        let all = lock(&self.0.points);
        let mut scored: Vec<(u64, f32)> = all
            .get(&req.collection_name)
            .map(|c| {
                c.iter().map(|(id, (v, _))| (*id, v.iter().zip(&d.data).map(|(a, b)| a * b).sum())).collect()
            })
            .unwrap_or_default();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored.truncate(req.limit.unwrap_or(10) as usize);
        let result = scored
            .into_iter()
            .map(|(id, score)| q::ScoredPoint { id: Some(id.into()), score, ..Default::default() })
            .collect();
        Ok(Response::new(q::QueryResponse { result, ..Default::default() }))
    }

    async fn get(&self, _: Request<q::GetPoints>) -> Result<Response<q::GetResponse>, Status> {
        Err(Status::unimplemented("get"))
    }
    async fn update_vectors(
        &self,
        _: Request<q::UpdatePointVectors>,
    ) -> Result<Response<q::PointsOperationResponse>, Status> {
        Err(Status::unimplemented("update_vectors"))
    }
    async fn delete_vectors(
        &self,
        _: Request<q::DeletePointVectors>,
    ) -> Result<Response<q::PointsOperationResponse>, Status> {
        Err(Status::unimplemented("delete_vectors"))
    }
    async fn set_payload(
        &self,
        _: Request<q::SetPayloadPoints>,
    ) -> Result<Response<q::PointsOperationResponse>, Status> {
        Err(Status::unimplemented("set_payload"))
    }
    async fn overwrite_payload(
        &self,
        _: Request<q::SetPayloadPoints>,
    ) -> Result<Response<q::PointsOperationResponse>, Status> {
        Err(Status::unimplemented("overwrite_payload"))
    }
    async fn delete_payload(
        &self,
        _: Request<q::DeletePayloadPoints>,
    ) -> Result<Response<q::PointsOperationResponse>, Status> {
        Err(Status::unimplemented("delete_payload"))
    }
    async fn clear_payload(
        &self,
        _: Request<q::ClearPayloadPoints>,
    ) -> Result<Response<q::PointsOperationResponse>, Status> {
        Err(Status::unimplemented("clear_payload"))
    }
    async fn delete_field_index(
        &self,
        _: Request<q::DeleteFieldIndexCollection>,
    ) -> Result<Response<q::PointsOperationResponse>, Status> {
        Err(Status::unimplemented("delete_field_index"))
    }
    async fn create_vector_name(
        &self,
        _: Request<q::CreateVectorNameRequest>,
    ) -> Result<Response<q::PointsOperationResponse>, Status> {
        Err(Status::unimplemented("create_vector_name"))
    }
    async fn delete_vector_name(
        &self,
        _: Request<q::DeleteVectorNameRequest>,
    ) -> Result<Response<q::PointsOperationResponse>, Status> {
        Err(Status::unimplemented("delete_vector_name"))
    }
    async fn search(&self, _: Request<q::SearchPoints>) -> Result<Response<q::SearchResponse>, Status> {
        Err(Status::unimplemented("search"))
    }
    async fn search_batch(
        &self,
        _: Request<q::SearchBatchPoints>,
    ) -> Result<Response<q::SearchBatchResponse>, Status> {
        Err(Status::unimplemented("search_batch"))
    }
    async fn search_groups(
        &self,
        _: Request<q::SearchPointGroups>,
    ) -> Result<Response<q::SearchGroupsResponse>, Status> {
        Err(Status::unimplemented("search_groups"))
    }
    async fn scroll(&self, _: Request<q::ScrollPoints>) -> Result<Response<q::ScrollResponse>, Status> {
        Err(Status::unimplemented("scroll"))
    }
    async fn recommend(
        &self,
        _: Request<q::RecommendPoints>,
    ) -> Result<Response<q::RecommendResponse>, Status> {
        Err(Status::unimplemented("recommend"))
    }
    async fn recommend_batch(
        &self,
        _: Request<q::RecommendBatchPoints>,
    ) -> Result<Response<q::RecommendBatchResponse>, Status> {
        Err(Status::unimplemented("recommend_batch"))
    }
    async fn recommend_groups(
        &self,
        _: Request<q::RecommendPointGroups>,
    ) -> Result<Response<q::RecommendGroupsResponse>, Status> {
        Err(Status::unimplemented("recommend_groups"))
    }
    async fn discover(&self, _: Request<q::DiscoverPoints>) -> Result<Response<q::DiscoverResponse>, Status> {
        Err(Status::unimplemented("discover"))
    }
    async fn discover_batch(
        &self,
        _: Request<q::DiscoverBatchPoints>,
    ) -> Result<Response<q::DiscoverBatchResponse>, Status> {
        Err(Status::unimplemented("discover_batch"))
    }
    async fn count(&self, _: Request<q::CountPoints>) -> Result<Response<q::CountResponse>, Status> {
        Err(Status::unimplemented("count"))
    }
    async fn update_batch(
        &self,
        _: Request<q::UpdateBatchPoints>,
    ) -> Result<Response<q::UpdateBatchResponse>, Status> {
        Err(Status::unimplemented("update_batch"))
    }
    async fn query_batch(
        &self,
        _: Request<q::QueryBatchPoints>,
    ) -> Result<Response<q::QueryBatchResponse>, Status> {
        Err(Status::unimplemented("query_batch"))
    }
    async fn query_groups(
        &self,
        _: Request<q::QueryPointGroups>,
    ) -> Result<Response<q::QueryGroupsResponse>, Status> {
        Err(Status::unimplemented("query_groups"))
    }
    async fn facet(&self, _: Request<q::FacetCounts>) -> Result<Response<q::FacetResponse>, Status> {
        Err(Status::unimplemented("facet"))
    }
    async fn search_matrix_pairs(
        &self,
        _: Request<q::SearchMatrixPoints>,
    ) -> Result<Response<q::SearchMatrixPairsResponse>, Status> {
        Err(Status::unimplemented("search_matrix_pairs"))
    }
    async fn search_matrix_offsets(
        &self,
        _: Request<q::SearchMatrixPoints>,
    ) -> Result<Response<q::SearchMatrixOffsetsResponse>, Status> {
        Err(Status::unimplemented("search_matrix_offsets"))
    }
}

#[tonic::async_trait]
impl Collections for Server {
    async fn collection_exists(
        &self,
        r: Request<q::CollectionExistsRequest>,
    ) -> Result<Response<q::CollectionExistsResponse>, Status> {
        self.0.record(&r, Seen::Exists(r.get_ref().clone()));
        let exists = lock(&self.0.collections).contains(&r.get_ref().collection_name);
        Ok(Response::new(q::CollectionExistsResponse {
            result: Some(q::CollectionExists { exists }),
            ..Default::default()
        }))
    }

    async fn create(
        &self,
        r: Request<q::CreateCollection>,
    ) -> Result<Response<q::CollectionOperationResponse>, Status> {
        self.0.record(&r, Seen::Create(r.get_ref().clone()));
        lock(&self.0.collections).insert(r.get_ref().collection_name.clone());
        Ok(Response::new(q::CollectionOperationResponse { result: true, ..Default::default() }))
    }

    async fn delete(
        &self,
        r: Request<q::DeleteCollection>,
    ) -> Result<Response<q::CollectionOperationResponse>, Status> {
        self.0.record(&r, Seen::DropCollection(r.get_ref().clone()));
        let name = r.get_ref().collection_name.clone();
        let existed = lock(&self.0.collections).remove(&name);
        lock(&self.0.points).remove(&name);
        Ok(Response::new(q::CollectionOperationResponse { result: existed, ..Default::default() }))
    }

    async fn get(
        &self,
        _: Request<q::GetCollectionInfoRequest>,
    ) -> Result<Response<q::GetCollectionInfoResponse>, Status> {
        Err(Status::unimplemented("get"))
    }
    async fn list(
        &self,
        _: Request<q::ListCollectionsRequest>,
    ) -> Result<Response<q::ListCollectionsResponse>, Status> {
        Err(Status::unimplemented("list"))
    }
    async fn update(
        &self,
        _: Request<q::UpdateCollection>,
    ) -> Result<Response<q::CollectionOperationResponse>, Status> {
        Err(Status::unimplemented("update"))
    }
    async fn update_aliases(
        &self,
        _: Request<q::ChangeAliases>,
    ) -> Result<Response<q::CollectionOperationResponse>, Status> {
        Err(Status::unimplemented("update_aliases"))
    }
    async fn list_collection_aliases(
        &self,
        _: Request<q::ListCollectionAliasesRequest>,
    ) -> Result<Response<q::ListAliasesResponse>, Status> {
        Err(Status::unimplemented("list_collection_aliases"))
    }
    async fn list_aliases(
        &self,
        _: Request<q::ListAliasesRequest>,
    ) -> Result<Response<q::ListAliasesResponse>, Status> {
        Err(Status::unimplemented("list_aliases"))
    }
    async fn collection_cluster_info(
        &self,
        _: Request<q::CollectionClusterInfoRequest>,
    ) -> Result<Response<q::CollectionClusterInfoResponse>, Status> {
        Err(Status::unimplemented("collection_cluster_info"))
    }
    async fn update_collection_cluster_setup(
        &self,
        _: Request<q::UpdateCollectionClusterSetupRequest>,
    ) -> Result<Response<q::UpdateCollectionClusterSetupResponse>, Status> {
        Err(Status::unimplemented("update_collection_cluster_setup"))
    }
    async fn create_shard_key(
        &self,
        _: Request<q::CreateShardKeyRequest>,
    ) -> Result<Response<q::CreateShardKeyResponse>, Status> {
        Err(Status::unimplemented("create_shard_key"))
    }
    async fn delete_shard_key(
        &self,
        _: Request<q::DeleteShardKeyRequest>,
    ) -> Result<Response<q::DeleteShardKeyResponse>, Status> {
        Err(Status::unimplemented("delete_shard_key"))
    }
    async fn list_shard_keys(
        &self,
        _: Request<q::ListShardKeysRequest>,
    ) -> Result<Response<q::ListShardKeysResponse>, Status> {
        Err(Status::unimplemented("list_shard_keys"))
    }
}

/// Starts the test server; returns its state, URL and the runtime it runs on.
fn start() -> (Arc<State>, String, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let state = Arc::new(State::default());
    let server = Server(state.clone());
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(
        tonic::transport::Server::builder()
            .add_service(PointsServer::new(server.clone()))
            .add_service(CollectionsServer::new(server))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    (state, format!("http://{addr}"), rt)
}

fn config(url: String) -> QdrantConfig {
    QdrantConfig { url, api_key: Some("test-key-123".into()) }
}

#[test]
fn qdrant_store_conforms_against_the_test_server() {
    let (state, url, _rt) = start();
    let mut store = QdrantVectors::open(&config(url), "ctl_conf_g1", 8, true).unwrap();
    conformance::run(&mut store);
    assert!(lock(&state.seen).iter().all(|(_, key)| key.as_deref() == Some("test-key-123")));
}

#[test]
fn qdrant_store_sends_the_expected_requests() {
    let (state, url, _rt) = start();
    let name = collection_name("my vault", "g-01");
    assert_eq!(name, "ctl_my_vault_g-01");
    let mut store = QdrantVectors::open(&config(url.clone()), &name, 3, true).unwrap();
    assert_eq!(
        state.take(),
        [
            Seen::Exists(q::CollectionExistsRequest { collection_name: name.clone() }),
            Seen::Create(q::CreateCollection {
                collection_name: name.clone(),
                vectors_config: Some(q::VectorsConfig {
                    config: Some(q::vectors_config::Config::Params(q::VectorParams {
                        size: 3,
                        distance: q::Distance::Cosine.into(),
                        ..Default::default()
                    })),
                }),
                ..Default::default()
            }),
            Seen::FieldIndex(q::CreateFieldIndexCollection {
                collection_name: name.clone(),
                wait: Some(true),
                field_name: "hash".into(),
                field_type: Some(q::FieldType::Keyword.into()),
                ..Default::default()
            }),
            Seen::FieldIndex(q::CreateFieldIndexCollection {
                collection_name: name.clone(),
                wait: Some(true),
                field_name: "slot".into(),
                field_type: Some(q::FieldType::Integer.into()),
                ..Default::default()
            }),
        ]
    );
    // Opening again finds the collection and creates nothing.
    drop(QdrantVectors::open(&config(url), &name, 3, true).unwrap());
    assert_eq!(state.take(), [Seen::Exists(q::CollectionExistsRequest { collection_name: name.clone() })]);

    let meta = PointMeta { hash: "h1".into(), path: "notes/a.md".into(), heading: "A > B".into() };
    store.put_chunks(7, &[vec![3.0, 0.0, 4.0]], &[meta]).unwrap();
    let payload: HashMap<String, q::Value> = [
        ("slot".to_owned(), q::Value::from(7i64)),
        ("hash".to_owned(), "h1".into()),
        ("path".to_owned(), "notes/a.md".into()),
        ("heading".to_owned(), "A > B".into()),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        state.take(),
        [Seen::Upsert(q::UpsertPoints {
            collection_name: name.clone(),
            wait: Some(true),
            points: vec![q::PointStruct::new(7u64, vec![0.6, 0.0, 0.8], payload)],
            ..Default::default()
        })]
    );

    assert_eq!(store.search(&[0.0, 0.0, 2.0], 5).unwrap()[0].0, 7);
    assert_eq!(
        state.take(),
        [Seen::Query(q::QueryPoints {
            collection_name: name.clone(),
            query: Some(q::Query::new_nearest(vec![0.0, 0.0, 1.0])),
            limit: Some(5),
            ..Default::default()
        })]
    );

    store.truncate(5).unwrap();
    store.remove(&["h1".into(), "h2".into()]).unwrap();
    store.remove(&[]).unwrap();
    let by = |c: q::Condition| q::DeletePoints {
        collection_name: name.clone(),
        wait: Some(true),
        points: Some(q::Filter::must([c]).into()),
        ..Default::default()
    };
    assert_eq!(
        state.take(),
        [
            Seen::Delete(by(q::Condition::range("slot", q::Range { gte: Some(5.0), ..Default::default() }))),
            Seen::Delete(by(q::Condition::matches("hash", vec!["h1".to_owned(), "h2".to_owned()]))),
        ]
    );
    assert!(store.search(&[0.0, 0.0, 1.0], 5).unwrap().is_empty());
    assert!(matches!(state.take().as_slice(), [Seen::Query(_)]));

    store.drop_collection().unwrap();
    assert_eq!(
        state.take(),
        [Seen::DropCollection(q::DeleteCollection { collection_name: name, ..Default::default() })]
    );
}

#[test]
fn qdrant_store_conforms_against_a_real_server() {
    let Ok(url) = std::env::var("CTL_TEST_QDRANT_URL") else {
        eprintln!("CTL_TEST_QDRANT_URL is not set: skipped");
        return;
    };
    let cfg = QdrantConfig { url, api_key: std::env::var("CTL_TEST_QDRANT_API_KEY").ok() };
    let name = format!("ctl_test_{}", crate::queue::new_id().to_lowercase());
    let mut store = QdrantVectors::open(&cfg, &name, 8, true).unwrap();
    conformance::run(&mut store);
    store.drop_collection().unwrap();
}
