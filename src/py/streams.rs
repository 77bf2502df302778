//! `hub.chat` and `hub.activity` from Python: the handles (`Chat`, `Activity` and their async
//! twins) over `crate::streams` (one engine for both). The entries they return and the
//! conversion of arguments are in `stream_items`, the followers in `stream_follow`.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::convert::Text;
use super::stream_follow::{
    async_follow, sync_follow, ActivityFollow, AsyncActivityFollow, AsyncChatFollow, ChatFollow,
};
use super::stream_items::{
    activity_batch, activity_items, activity_new, chat_batch, chat_entries, chat_new, chat_turn,
    first, settings, ActivityItem, ChatEntry,
};
use super::{run_async, run_sync};
use crate::hub::Hub as CoreHub;

/// The methods chat and activity share: `$field` the core handle, `$arg` the log's argument
/// name (`conversation`, `user`), `$conv` the conversion of entries to Python objects.
macro_rules! log_methods {
    ($cls:ident, $ret:ty, $run:ident, $field:ident, $arg:ident, $conv:ident, { $($extra:tt)* }) => {
        #[pymethods]
        impl $cls {
            $($extra)*

            /// This handle's limits: `max_len` (entries a log keeps) and `max_size` (bytes of
            /// an entry); returns those in force (not a store operation).
            #[pyo3(signature = (*, max_len=None, max_size=None))]
            fn configure<'py>(
                &self,
                py: Python<'py>,
                max_len: Option<u64>,
                max_size: Option<usize>,
            ) -> PyResult<Bound<'py, PyDict>> {
                settings(py, self.hub.$field.configure(max_len, max_size)?)
            }

            /// The newest `n` entries, oldest first.
            #[pyo3(signature = ($arg, n=50))]
            fn recent<'py>(&self, py: Python<'py>, $arg: Text, n: usize) -> PyResult<$ret> {
                $run(py, self.hub.$field.recent(&$arg, n), $conv)
            }

            /// Entries after `after` and before `before` (ids, both exclusive), oldest first.
            #[pyo3(signature = ($arg, *, after=None, before=None, limit=100))]
            fn range<'py>(
                &self,
                py: Python<'py>,
                $arg: Text,
                after: Option<Text>,
                before: Option<Text>,
                limit: usize,
            ) -> PyResult<$ret> {
                let op = self.hub.$field.range(
                    &$arg,
                    after.as_deref(),
                    before.as_deref(),
                    limit,
                    Duration::ZERO,
                );
                $run(py, op, $conv)
            }

            /// Entries the log holds.
            fn count<'py>(&self, py: Python<'py>, $arg: Text) -> PyResult<$ret> {
                $run(py, self.hub.$field.count(&$arg), Ok)
            }

            /// Deletes the log; returns how many entries went.
            fn clear<'py>(&self, py: Python<'py>, $arg: Text) -> PyResult<$ret> {
                $run(py, self.hub.$field.clear(&$arg), Ok)
            }

            fn __repr__(&self) -> String {
                format!("{}(namespace={:?})", stringify!($cls), self.hub.namespace())
            }
        }
    };
}

/// `hub.chat` of a sync hub.
#[pyclass(frozen, module = "zerolag._core", name = "Chat")]
pub struct Chat {
    pub(crate) hub: Arc<CoreHub>,
}

/// `hub.chat` of an async hub.
#[pyclass(frozen, module = "zerolag._core", name = "AsyncChat")]
pub struct AsyncChat {
    pub(crate) hub: Arc<CoreHub>,
}

/// `hub.activity` of a sync hub.
#[pyclass(frozen, module = "zerolag._core", name = "Activity")]
pub struct Activity {
    pub(crate) hub: Arc<CoreHub>,
}

/// `hub.activity` of an async hub.
#[pyclass(frozen, module = "zerolag._core", name = "AsyncActivity")]
pub struct AsyncActivity {
    pub(crate) hub: Arc<CoreHub>,
}

log_methods!(
    Chat,
    Py<PyAny>,
    run_sync,
    chat,
    conversation,
    chat_entries,
    {
        /// Appends one message; returns its id.
        #[pyo3(signature = (conversation, role, content, meta=None))]
        fn append<'py>(
            &self,
            py: Python<'py>,
            conversation: Text,
            role: Text,
            content: Text,
            meta: Option<Bound<'py, PyAny>>,
        ) -> PyResult<Py<PyAny>> {
            let e = chat_new(
                &self.hub.chat,
                role.into_string(),
                content.into_string(),
                meta.as_ref(),
            )?;
            run_sync(py, self.hub.chat.append(&conversation, vec![e]), first)
        }

        /// Appends one message and returns its id with the newest `n` messages (the new one
        /// last, unless another client appended meanwhile): a chat turn in one round trip.
        #[pyo3(signature = (conversation, role, content, meta=None, *, n=50))]
        fn append_recent<'py>(
            &self,
            py: Python<'py>,
            conversation: Text,
            role: Text,
            content: Text,
            meta: Option<Bound<'py, PyAny>>,
            n: usize,
        ) -> PyResult<Py<PyAny>> {
            let e = chat_new(
                &self.hub.chat,
                role.into_string(),
                content.into_string(),
                meta.as_ref(),
            )?;
            run_sync(
                py,
                self.hub.chat.append_recent(&conversation, vec![e], n),
                chat_turn,
            )
        }

        /// Appends messages in order, all or none; returns their ids.
        fn append_many<'py>(
            &self,
            py: Python<'py>,
            conversation: Text,
            messages: &Bound<'py, PyAny>,
        ) -> PyResult<Py<PyAny>> {
            let es = chat_batch(&self.hub.chat, messages)?;
            run_sync(py, self.hub.chat.append(&conversation, es), Ok)
        }

        /// The messages appended after `after` (None: from now), as a blocking iterator.
        #[pyo3(signature = (conversation, *, after=None))]
        fn follow(
            &self,
            py: Python<'_>,
            conversation: Text,
            after: Option<Text>,
        ) -> PyResult<ChatFollow> {
            let f = sync_follow(py, &self.hub, &self.hub.chat, &conversation, after)?;
            Ok(ChatFollow {
                hub: self.hub.clone(),
                follow: Mutex::new(f),
            })
        }
    }
);

log_methods!(
    AsyncChat,
    Bound<'py, PyAny>,
    run_async,
    chat,
    conversation,
    chat_entries,
    {
        /// Appends one message; returns its id.
        #[pyo3(signature = (conversation, role, content, meta=None))]
        fn append<'py>(
            &self,
            py: Python<'py>,
            conversation: Text,
            role: Text,
            content: Text,
            meta: Option<Bound<'py, PyAny>>,
        ) -> PyResult<Bound<'py, PyAny>> {
            let e = chat_new(
                &self.hub.chat,
                role.into_string(),
                content.into_string(),
                meta.as_ref(),
            )?;
            run_async(py, self.hub.chat.append(&conversation, vec![e]), first)
        }

        /// Appends one message and returns its id with the newest `n` messages (the new one
        /// last, unless another client appended meanwhile): a chat turn in one round trip.
        #[pyo3(signature = (conversation, role, content, meta=None, *, n=50))]
        fn append_recent<'py>(
            &self,
            py: Python<'py>,
            conversation: Text,
            role: Text,
            content: Text,
            meta: Option<Bound<'py, PyAny>>,
            n: usize,
        ) -> PyResult<Bound<'py, PyAny>> {
            let e = chat_new(
                &self.hub.chat,
                role.into_string(),
                content.into_string(),
                meta.as_ref(),
            )?;
            run_async(
                py,
                self.hub.chat.append_recent(&conversation, vec![e], n),
                chat_turn,
            )
        }

        /// Appends messages in order, all or none; returns their ids.
        fn append_many<'py>(
            &self,
            py: Python<'py>,
            conversation: Text,
            messages: &Bound<'py, PyAny>,
        ) -> PyResult<Bound<'py, PyAny>> {
            let es = chat_batch(&self.hub.chat, messages)?;
            run_async(py, self.hub.chat.append(&conversation, es), Ok)
        }

        /// The messages appended after `after` (None: from the end of the log when first used),
        /// as an async iterator.
        #[pyo3(signature = (conversation, *, after=None))]
        fn follow(&self, conversation: Text, after: Option<Text>) -> PyResult<AsyncChatFollow> {
            let f = async_follow(&self.hub, &self.hub.chat, &conversation, after)?;
            Ok(AsyncChatFollow {
                hub: self.hub.clone(),
                follow: Arc::new(Mutex::new(f)),
            })
        }
    }
);

log_methods!(
    Activity,
    Py<PyAny>,
    run_sync,
    activity,
    user,
    activity_items,
    {
        /// Appends one item to the user's feed; returns its id.
        #[pyo3(signature = (user, kind, data=None))]
        fn add<'py>(
            &self,
            py: Python<'py>,
            user: Text,
            kind: Text,
            data: Option<Bound<'py, PyAny>>,
        ) -> PyResult<Py<PyAny>> {
            let data = data.unwrap_or_else(|| py.None().into_bound(py));
            let e = activity_new(&self.hub.activity, kind.into_string(), &data)?;
            run_sync(py, self.hub.activity.append(&user, vec![e]), first)
        }

        /// Appends items in order, all or none; returns their ids.
        fn add_many<'py>(
            &self,
            py: Python<'py>,
            user: Text,
            items: &Bound<'py, PyAny>,
        ) -> PyResult<Py<PyAny>> {
            let es = activity_batch(&self.hub.activity, items)?;
            run_sync(py, self.hub.activity.append(&user, es), Ok)
        }

        /// The items added after `after` (None: from now), as a blocking iterator.
        #[pyo3(signature = (user, *, after=None))]
        fn follow(
            &self,
            py: Python<'_>,
            user: Text,
            after: Option<Text>,
        ) -> PyResult<ActivityFollow> {
            let f = sync_follow(py, &self.hub, &self.hub.activity, &user, after)?;
            Ok(ActivityFollow {
                hub: self.hub.clone(),
                follow: Mutex::new(f),
            })
        }
    }
);

log_methods!(
    AsyncActivity,
    Bound<'py, PyAny>,
    run_async,
    activity,
    user,
    activity_items,
    {
        /// Appends one item to the user's feed; returns its id.
        #[pyo3(signature = (user, kind, data=None))]
        fn add<'py>(
            &self,
            py: Python<'py>,
            user: Text,
            kind: Text,
            data: Option<Bound<'py, PyAny>>,
        ) -> PyResult<Bound<'py, PyAny>> {
            let data = data.unwrap_or_else(|| py.None().into_bound(py));
            let e = activity_new(&self.hub.activity, kind.into_string(), &data)?;
            run_async(py, self.hub.activity.append(&user, vec![e]), first)
        }

        /// Appends items in order, all or none; returns their ids.
        fn add_many<'py>(
            &self,
            py: Python<'py>,
            user: Text,
            items: &Bound<'py, PyAny>,
        ) -> PyResult<Bound<'py, PyAny>> {
            let es = activity_batch(&self.hub.activity, items)?;
            run_async(py, self.hub.activity.append(&user, es), Ok)
        }

        /// The items added after `after` (None: from the end of the feed when first used), as
        /// an async iterator.
        #[pyo3(signature = (user, *, after=None))]
        fn follow(&self, user: Text, after: Option<Text>) -> PyResult<AsyncActivityFollow> {
            let f = async_follow(&self.hub, &self.hub.activity, &user, after)?;
            Ok(AsyncActivityFollow {
                hub: self.hub.clone(),
                follow: Arc::new(Mutex::new(f)),
            })
        }
    }
);

/// Adds these capabilities' classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Chat>()?;
    m.add_class::<AsyncChat>()?;
    m.add_class::<Activity>()?;
    m.add_class::<AsyncActivity>()?;
    m.add_class::<ChatEntry>()?;
    m.add_class::<ActivityItem>()?;
    m.add_class::<ChatFollow>()?;
    m.add_class::<AsyncChatFollow>()?;
    m.add_class::<ActivityFollow>()?;
    m.add_class::<AsyncActivityFollow>()?;
    Ok(())
}
