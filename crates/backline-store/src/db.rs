//! The store's own query layer: typed parameters and values, rows read by
//! column name, and one [`Exec`] trait that both engines implement.
//!
//! Queries are written once, as SQL text with numbered placeholders (`$1`,
//! `$2` …) that both SQLite and PostgreSQL accept, and run through the
//! builders below ([`query`], [`query_as`], [`query_scalar`]). The engine
//! behind an executor decides how they run: a cached prepared statement on a
//! rusqlite connection, or sqlx's PostgreSQL driver. No type of either driver
//! leaves this crate.

use std::borrow::Cow;
use std::marker::PhantomData;
use std::sync::Arc;

use futures::future::BoxFuture;

use crate::StoreError;

/// A bound parameter. The type travels with a NULL too, which PostgreSQL needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<String>),
    /// A list, bound as one PostgreSQL array (`unnest(CAST($1 AS text[]))`).
    /// SQLite has no arrays and refuses it.
    TextList(Vec<Option<String>>),
    /// A list of integers, bound as one PostgreSQL `bigint[]`.
    IntList(Vec<i64>),
}

impl From<i64> for Param {
    fn from(v: i64) -> Self {
        Param::Int(Some(v))
    }
}
impl From<i32> for Param {
    fn from(v: i32) -> Self {
        Param::Int(Some(v.into()))
    }
}
impl From<u32> for Param {
    fn from(v: u32) -> Self {
        Param::Int(Some(v.into()))
    }
}
impl From<bool> for Param {
    fn from(v: bool) -> Self {
        Param::Int(Some(v as i64))
    }
}
impl From<f64> for Param {
    fn from(v: f64) -> Self {
        Param::Real(Some(v))
    }
}
impl From<Option<i64>> for Param {
    fn from(v: Option<i64>) -> Self {
        Param::Int(v)
    }
}
impl From<Option<f64>> for Param {
    fn from(v: Option<f64>) -> Self {
        Param::Real(v)
    }
}
impl From<&str> for Param {
    fn from(v: &str) -> Self {
        Param::Text(Some(v.to_owned()))
    }
}
impl From<&&str> for Param {
    fn from(v: &&str) -> Self {
        Param::Text(Some((*v).to_owned()))
    }
}
impl From<String> for Param {
    fn from(v: String) -> Self {
        Param::Text(Some(v))
    }
}
impl From<&String> for Param {
    fn from(v: &String) -> Self {
        Param::Text(Some(v.clone()))
    }
}
impl From<Option<&str>> for Param {
    fn from(v: Option<&str>) -> Self {
        Param::Text(v.map(str::to_owned))
    }
}
impl From<Option<String>> for Param {
    fn from(v: Option<String>) -> Self {
        Param::Text(v)
    }
}
impl From<Option<&String>> for Param {
    fn from(v: Option<&String>) -> Self {
        Param::Text(v.cloned())
    }
}
impl From<&Option<String>> for Param {
    fn from(v: &Option<String>) -> Self {
        Param::Text(v.clone())
    }
}

/// A value read from a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// Turns a column's value into a Rust type.
pub trait FromValue: Sized {
    fn from_value(value: &Value) -> Result<Self, String>;
}

impl FromValue for i64 {
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Int(v) => Ok(*v),
            other => Err(format!("expected an integer, got {other:?}")),
        }
    }
}
impl FromValue for f64 {
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Real(v) => Ok(*v),
            Value::Int(v) => Ok(*v as f64),
            other => Err(format!("expected a number, got {other:?}")),
        }
    }
}
impl FromValue for bool {
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Int(v) => Ok(*v != 0),
            other => Err(format!("expected 0 or 1, got {other:?}")),
        }
    }
}
impl FromValue for String {
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Text(v) => Ok(v.clone()),
            other => Err(format!("expected text, got {other:?}")),
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// What a statement produced: its column names, its rows (flat), and how
/// many rows it changed.
#[derive(Debug, Default)]
pub struct Rows {
    pub(crate) columns: Arc<[String]>,
    pub(crate) values: Vec<Value>,
    pub(crate) affected: u64,
}

impl Rows {
    fn width(&self) -> usize {
        self.columns.len().max(1)
    }

    /// How many rows came back.
    pub fn len(&self) -> usize {
        if self.columns.is_empty() {
            0
        } else {
            self.values.len() / self.width()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `index`-th row.
    pub fn row(&self, index: usize) -> Row<'_> {
        let width = self.width();
        Row {
            columns: &self.columns,
            values: &self.values[index * width..(index + 1) * width],
        }
    }
}

/// One row, read by column name.
pub struct Row<'r> {
    columns: &'r [String],
    values: &'r [Value],
}

impl Row<'_> {
    /// The column named `name`, as `T`.
    pub fn get<T: FromValue>(&self, name: &str) -> Result<T, StoreError> {
        let index = self
            .columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
            .ok_or_else(|| StoreError::Decode(format!("no column {name:?} in the result")))?;
        T::from_value(&self.values[index])
            .map_err(|e| StoreError::Decode(format!("column {name:?}: {e}")))
    }

    /// The `index`-th column, as `T`.
    pub fn at<T: FromValue>(&self, index: usize) -> Result<T, StoreError> {
        let value = self
            .values
            .get(index)
            .ok_or_else(|| StoreError::Decode(format!("no column {index} in the result")))?;
        T::from_value(value).map_err(|e| StoreError::Decode(format!("column {index}: {e}")))
    }
}

/// A type read from a whole row.
pub trait FromRow: Sized {
    fn from_row(row: &Row<'_>) -> Result<Self, StoreError>;
}

impl<A: FromValue, B: FromValue> FromRow for (A, B) {
    fn from_row(row: &Row<'_>) -> Result<Self, StoreError> {
        Ok((row.at(0)?, row.at(1)?))
    }
}
impl<A: FromValue, B: FromValue, C: FromValue> FromRow for (A, B, C) {
    fn from_row(row: &Row<'_>) -> Result<Self, StoreError> {
        Ok((row.at(0)?, row.at(1)?, row.at(2)?))
    }
}

/// Declares a row struct and reads it by column name (each field from the
/// column of the same name).
macro_rules! row_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty ),*
        }
        impl $crate::db::FromRow for $name {
            fn from_row(row: &$crate::db::Row<'_>) -> Result<Self, $crate::StoreError> {
                Ok($name { $( $field: row.get(stringify!($field))? ),* })
            }
        }
    };
}
pub(crate) use row_struct;

/// SQL text: a static string or one built at run time.
pub type Sql = Cow<'static, str>;

/// Something statements run on: the writer's transaction ([`WriteTx`]), the
/// read side ([`crate::Reader`]) or one read connection ([`crate::ReadConn`]).
pub trait Exec: Send {
    /// Runs one statement with its parameters.
    fn run<'a>(self, sql: Sql, params: Vec<Param>) -> BoxFuture<'a, Result<Rows, StoreError>>
    where
        Self: 'a;
}

/// How many rows a statement changed.
#[derive(Debug, Clone, Copy)]
pub struct Done {
    rows_affected: u64,
}

impl Done {
    pub fn rows_affected(&self) -> u64 {
        self.rows_affected
    }
}

/// A statement and its parameters.
#[must_use]
pub struct Query {
    sql: Sql,
    params: Vec<Param>,
}

/// A statement with numbered placeholders.
pub fn query(sql: impl Into<Sql>) -> Query {
    Query {
        sql: sql.into(),
        params: Vec::new(),
    }
}

impl Query {
    /// Binds the next placeholder (`$1`, then `$2` …).
    pub fn bind(mut self, value: impl Into<Param>) -> Self {
        self.params.push(value.into());
        self
    }

    pub async fn execute(self, ex: impl Exec) -> Result<Done, StoreError> {
        let rows = ex.run(self.sql, self.params).await?;
        Ok(Done {
            rows_affected: rows.affected,
        })
    }

    pub async fn fetch_rows(self, ex: impl Exec) -> Result<Rows, StoreError> {
        ex.run(self.sql, self.params).await
    }
}

/// A statement whose rows are read as `T`.
#[must_use]
pub struct QueryAs<T> {
    query: Query,
    _row: PhantomData<fn() -> T>,
}

pub fn query_as<T: FromRow>(sql: impl Into<Sql>) -> QueryAs<T> {
    QueryAs {
        query: query(sql),
        _row: PhantomData,
    }
}

impl<T: FromRow> QueryAs<T> {
    pub fn bind(mut self, value: impl Into<Param>) -> Self {
        self.query = self.query.bind(value);
        self
    }

    pub async fn fetch_all(self, ex: impl Exec) -> Result<Vec<T>, StoreError> {
        let rows = self.query.fetch_rows(ex).await?;
        (0..rows.len()).map(|i| T::from_row(&rows.row(i))).collect()
    }

    pub async fn fetch_optional(self, ex: impl Exec) -> Result<Option<T>, StoreError> {
        let rows = self.query.fetch_rows(ex).await?;
        if rows.is_empty() {
            Ok(None)
        } else {
            T::from_row(&rows.row(0)).map(Some)
        }
    }

    pub async fn fetch_one(self, ex: impl Exec) -> Result<T, StoreError> {
        self.fetch_optional(ex)
            .await?
            .ok_or(StoreError::NotFound("row"))
    }
}

/// A statement whose first column is read as `T`.
#[must_use]
pub struct QueryScalar<T> {
    query: Query,
    _value: PhantomData<fn() -> T>,
}

pub fn query_scalar<T: FromValue>(sql: impl Into<Sql>) -> QueryScalar<T> {
    QueryScalar {
        query: query(sql),
        _value: PhantomData,
    }
}

impl<T: FromValue> QueryScalar<T> {
    pub fn bind(mut self, value: impl Into<Param>) -> Self {
        self.query = self.query.bind(value);
        self
    }

    pub async fn fetch_all(self, ex: impl Exec) -> Result<Vec<T>, StoreError> {
        let rows = self.query.fetch_rows(ex).await?;
        (0..rows.len()).map(|i| rows.row(i).at(0)).collect()
    }

    pub async fn fetch_optional(self, ex: impl Exec) -> Result<Option<T>, StoreError> {
        let rows = self.query.fetch_rows(ex).await?;
        if rows.is_empty() {
            Ok(None)
        } else {
            rows.row(0).at(0).map(Some)
        }
    }

    pub async fn fetch_one(self, ex: impl Exec) -> Result<T, StoreError> {
        self.fetch_optional(ex)
            .await?
            .ok_or(StoreError::NotFound("row"))
    }
}
