//! A fingerprint's time series in the view model: executions, total time and p95 per timeline
//! window, sparse (only the windows where the query ran).

use super::model::{ms, QueryView};
use crate::aggregate::series::Cell;

/// `v` with its series from the aggregate (window index, cell), `None` when the log had
/// no timestamps.
pub fn with_series(mut v: QueryView, cells: Option<Vec<(u32, Cell)>>) -> QueryView {
    v.series = cells
        .unwrap_or_default()
        .into_iter()
        .map(|(i, c)| (i, c.count, ms(c.total_us), ms(c.quantile(0.95))))
        .collect();
    v
}
