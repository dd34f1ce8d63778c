//! Binary attributes of a folder's images, as CelebA ships its 40: a file `attributes.csv` in the
//! folder's root,
//!
//! ```text
//! file,Smiling,Eyeglasses
//! alice/001.png,1,0
//! bob/002.png,0,1
//! ```
//!
//! a header `file` then the attributes' names, and one line per image: its path relative to the
//! folder (with `/`), then 1 where it has the attribute and 0 (or CelebA's −1) where it has not.
//! Every image needs exactly one line and every line an image; anything else is refused with the
//! line named.

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::path::Path;

/// The file a folder's attributes are read from.
pub const FILE: &str = "attributes.csv";

pub use crate::config::MAX_ATTRIBUTES;

/// The most bytes `attributes.csv` may hold: 64 MiB (CelebA's 202,599 lines of 40 attributes
/// take 18 MB).
pub const MAX_BYTES: u64 = 64 << 20;

/// The attributes' names and each listed file's values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributeTable {
    /// The names, in the header's order.
    pub names: Vec<String>,
    /// Per file (relative path with `/`): its values, 0 or 1, and the line it came from.
    pub rows: HashMap<String, (Vec<u8>, usize)>,
}

impl AttributeTable {
    /// Parses the text of `attributes.csv` at `path` (named in the errors).
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let bad = |line: usize, why: String| Error::bad_file(path, format!("line {line}: {why}"));
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim_end_matches('\r')));
        let (_, header) = lines
            .next()
            .ok_or_else(|| Error::bad_file(path, "empty: the header line is missing"))?;
        let mut fields = header.split(',').map(str::trim);
        if fields.next() != Some("file") {
            return Err(bad(1, "the header must start with `file`".into()));
        }
        let names: Vec<String> = fields.map(String::from).collect();
        if names.is_empty() || names.len() > MAX_ATTRIBUTES {
            return Err(bad(
                1,
                format!(
                    "{} attributes named; 1 to {MAX_ATTRIBUTES} are supported",
                    names.len()
                ),
            ));
        }
        for (i, name) in names.iter().enumerate() {
            if name.is_empty() {
                return Err(bad(1, format!("attribute {} has no name", i + 1)));
            }
            if names[..i].contains(name) {
                return Err(bad(1, format!("attribute `{name}` is named twice")));
            }
        }
        let mut rows = HashMap::new();
        for (number, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if fields.len() != names.len() + 1 {
                return Err(bad(
                    number,
                    format!(
                        "{} values after the file name; the header names {} attributes",
                        fields.len() - 1,
                        names.len()
                    ),
                ));
            }
            let values = fields[1..]
                .iter()
                .zip(&names)
                .map(|(v, name)| match *v {
                    "1" => Ok(1),
                    "0" | "-1" => Ok(0),
                    other => Err(bad(
                        number,
                        format!("`{name}` is {other:?}; an attribute is 1, 0 or -1"),
                    )),
                })
                .collect::<Result<Vec<u8>>>()?;
            let file = fields[0].to_string();
            if let Some((_, first)) = rows.insert(file.clone(), (values, number)) {
                return Err(bad(
                    number,
                    format!("{file} is listed again (first on line {first})"),
                ));
            }
        }
        Ok(AttributeTable { names, rows })
    }

    /// Reads `dir/attributes.csv` when the folder has one.
    pub fn read(dir: &Path) -> Result<Option<Self>> {
        let path = dir.join(FILE);
        if !path.exists() {
            return Ok(None);
        }
        let bytes = crate::fs::read_bounded(&path, MAX_BYTES)?;
        let text =
            std::str::from_utf8(&bytes).map_err(|_| Error::bad_file(&path, "not UTF-8 text"))?;
        Self::parse(text, &path).map(Some)
    }

    /// The values of `files` (paths relative to the folder, with `/`), in their order, `[files,
    /// attributes]`: refused when one of them has no line, or when a line names a file that is
    /// not among `listed` (every image file of the folder, `files` and those skipped as
    /// unreadable).
    pub fn values_of(&self, files: &[String], listed: &[String], path: &Path) -> Result<Vec<u8>> {
        let mut values = Vec::with_capacity(files.len() * self.names.len());
        for file in files {
            let (row, _) = self
                .rows
                .get(file)
                .ok_or_else(|| Error::bad_file(path, format!("no line for the image {file}")))?;
            values.extend_from_slice(row);
        }
        let listed: std::collections::HashSet<&String> = listed.iter().collect();
        let mut extra: Vec<(&usize, &String)> = self
            .rows
            .iter()
            .filter(|(file, _)| !listed.contains(file))
            .map(|(file, (_, line))| (line, file))
            .collect();
        extra.sort();
        if let Some((line, file)) = extra.first() {
            return Err(Error::bad_file(
                path,
                format!("line {line}: {file} is not an image file of the folder"),
            ));
        }
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<AttributeTable> {
        AttributeTable::parse(text, Path::new("attributes.csv"))
    }

    #[test]
    fn reads_names_values_and_celeba_minus_ones() {
        let table = parse("file,Smiling,Male\r\na/1.png,1,-1\nb/2.png, 0 ,1\n\n").expect("valid");
        assert_eq!(table.names, ["Smiling", "Male"]);
        assert_eq!(table.rows["a/1.png"], (vec![1, 0], 2));
        assert_eq!(table.rows["b/2.png"], (vec![0, 1], 3));
        let files = ["b/2.png".to_string(), "a/1.png".to_string()];
        let values = table
            .values_of(&files, &files, Path::new("attributes.csv"))
            .expect("every file listed");
        assert_eq!(values, [0, 1, 1, 0]);
    }

    #[test]
    fn refuses_bad_files_naming_the_line() {
        for (text, needle) in [
            ("", "the header line is missing"),
            (
                "name,Smiling\n",
                "line 1: the header must start with `file`",
            ),
            ("file\n", "line 1: 0 attributes named"),
            ("file,A,A\n", "line 1: attribute `A` is named twice"),
            ("file,A,\n", "line 1: attribute 2 has no name"),
            (
                "file,A,B\nx.png,1\n",
                "line 2: 1 values after the file name; the header names 2",
            ),
            (
                "file,A\nx.png,1,0\n",
                "line 2: 2 values after the file name",
            ),
            (
                "file,A\nx.png,1\ny.png,2\n",
                "line 3: `A` is \"2\"; an attribute is 1, 0 or -1",
            ),
            ("file,A\nx.png,yes\n", "line 2: `A` is \"yes\""),
            (
                "file,A\nx.png,1\nx.png,0\n",
                "line 3: x.png is listed again (first on line 2)",
            ),
        ] {
            let err = parse(text).expect_err(text).to_string();
            assert!(err.contains(needle), "{text:?}: {err}");
        }
    }

    #[test]
    fn every_image_needs_a_line_and_every_line_an_image() {
        let table = parse("file,A\nx.png,1\ny.png,0\n").expect("valid");
        let path = Path::new("attributes.csv");
        let all = [
            "x.png".to_string(),
            "y.png".to_string(),
            "z.png".to_string(),
        ];
        let missing = table
            .values_of(&all[..], &all, path)
            .expect_err("z.png has no line")
            .to_string();
        assert!(missing.contains("no line for the image z.png"), "{missing}");
        let extra = table
            .values_of(&all[..1], &all[..1], path)
            .expect_err("y.png is no image")
            .to_string();
        assert!(
            extra.contains("line 3: y.png is not an image file of the folder"),
            "{extra}"
        );
        // A listed image skipped as unreadable keeps its line.
        assert_eq!(
            table
                .values_of(&all[..1], &all[..2], path)
                .expect("y.png listed"),
            [1]
        );
    }
}
