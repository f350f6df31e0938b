//! Pages of an owner's tasks kept by this instance and answered again while the owner's
//! list version is unchanged. The database counts the version up with every change to the
//! owner's tasks, inside the change's own transaction (triggers on `tasks`).
//!
//! A request reads the version first, batched with other requests' reads (see
//! `reads::batched`), so it sees every change committed before it arrived. A page is kept
//! under the version read before the page was, so it holds at least every change that
//! version counts: a page kept at the version the request read is the page a new read
//! would return. Any other page is read (shared with equal reads, see `reads::shared`) and
//! kept. Instances keep pages apart; the version, in the database, is what they share.

use std::sync::Arc;
use std::time::Duration;

use diesel::QueryResult;
use diesel_async::AsyncMysqlConnection;
use dispatch_shared::db::DbPool;
use dispatch_shared::models::TaskView;
use dispatch_shared::repo::task_list_versions::{self, TaskListVersionRow};
use moka::sync::Cache;
use uuid::Uuid;

use super::reads::{TaskPageKey, TaskPages};
use crate::listing::Listed;
use crate::reads::batched::{BatchedReads, PointRead};
use crate::Failure;

/// A page nobody has asked for in this long gives its memory back.
const IDLE: Duration = Duration::from_secs(300);

#[derive(Clone)]
pub struct ListVersionByOwner;

impl PointRead for ListVersionByOwner {
    type Key = Uuid;
    type Row = TaskListVersionRow;
    const WHAT: &'static str = "task list version";

    fn row_id(owner: &Uuid) -> String {
        owner.to_string()
    }

    async fn find_many(
        conn: &mut AsyncMysqlConnection,
        owner_ids: &[String],
    ) -> QueryResult<Vec<TaskListVersionRow>> {
        task_list_versions::find_many(conn, owner_ids).await
    }

    fn answers(row: &TaskListVersionRow, owner: &Uuid) -> bool {
        row.owner_id.0 == *owner
    }
}

/// About what a kept page holds in memory: descriptions run to 10,000 characters, so a
/// count of pages or rows would say little.
fn footprint(key: &TaskPageKey, page: &Listed<TaskView>) -> usize {
    let texts = |t: &TaskView| t.title.len() + t.description.len() + t.status_task.len();
    let key_text = key.filter.search.as_ref().map_or(0, String::len);
    let tasks: usize = page.items.iter().map(|t| size_of::<TaskView>() + texts(t)).sum();
    size_of::<TaskPageKey>() + size_of::<KeptPage>() + key_text + tasks
}

struct KeptPage {
    version: i64,
    page: Listed<TaskView>,
}

#[derive(Clone)]
pub struct KeptTaskPages {
    pages: TaskPages,
    versions: BatchedReads<ListVersionByOwner>,
    /// `None` when pages are given no memory: every page is read.
    kept: Option<Cache<TaskPageKey, Arc<KeptPage>>>,
}

impl KeptTaskPages {
    /// Keeps pages taking about `max_bytes` of memory in all (0 keeps none), reading
    /// versions through `db`, whose pool holds `pool_size` connections.
    pub fn new(pages: TaskPages, db: DbPool, pool_size: u32, max_bytes: u64) -> Self {
        let kept = (max_bytes > 0).then(|| {
            Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|key: &TaskPageKey, kept: &Arc<KeptPage>| {
                    u32::try_from(footprint(key, &kept.page)).unwrap_or(u32::MAX)
                })
                .time_to_idle(IDLE)
                .build()
        });
        Self { pages, versions: BatchedReads::spawn(db, pool_size), kept }
    }

    pub async fn read(&self, key: TaskPageKey) -> Result<Listed<TaskView>, Failure> {
        let Some(kept) = &self.kept else {
            return self.read_page(key).await;
        };
        let version = self.versions.find(key.owner).await?.map_or(0, |row| row.version);
        if let Some(page) = kept.get(&key).filter(|k| k.version == version) {
            metrics::counter!("dispatch_task_page_cache_total", "outcome" => "hit").increment(1);
            return Ok(page.page.clone());
        }
        metrics::counter!("dispatch_task_page_cache_total", "outcome" => "miss").increment(1);
        let page = self.read_page(key.clone()).await?;
        kept.insert(key, Arc::new(KeptPage { version, page: page.clone() }));
        Ok(page)
    }

    async fn read_page(&self, key: TaskPageKey) -> Result<Listed<TaskView>, Failure> {
        let (rows, count) = self.pages.read(key).await?;
        Ok(Listed::of(rows, count, |r| r.view()))
    }
}
