//! The templates the rows name, gathered while the rows are read, and settled into the
//! plan once every row's fate is known.

use std::collections::HashMap;

use super::*;

/// The templates the rows name, gathered while the rows are read, for the plan's
/// [`RowTemplates`] and [`Untemplated`] once every row's fate is known. Each id is kept once.
pub(super) struct TemplatesNamed<'a> {
    /// The default template, if one was given.
    default: Option<&'a str>,
    /// Whether rows that name no template have none (no default).
    no_default: bool,
    /// Rows that name no template, by index, when there is no default to give them one.
    none: Vec<u32>,
    /// The rows that name their own template (by row, the id's number in `ids`).
    own: Vec<(u32, u32)>,
    /// Each template id named, once.
    ids: Vec<String>,
    /// The number of each id in `ids`.
    numbers: HashMap<String, u32>,
}

impl<'a> TemplatesNamed<'a> {
    /// None named yet; `default` gives rows that name none a template.
    pub(super) fn new(default: Option<&'a str>) -> Self {
        TemplatesNamed {
            default,
            no_default: default.is_none_or(|t| t.trim().is_empty()),
            none: Vec::new(),
            own: Vec::new(),
            ids: Vec::new(),
            numbers: HashMap::new(),
        }
    }

    /// The row `index` names the template `own`, or none.
    pub(super) fn note(&mut self, index: usize, own: Option<std::borrow::Cow<'_, str>>) {
        match own {
            Some(own) => {
                let number = match self.numbers.get(own.as_ref()) {
                    Some(number) => *number,
                    None => {
                        let number = self.ids.len() as u32;
                        self.ids.push(own.to_string());
                        self.numbers.insert(own.into_owned(), number);
                        number
                    }
                };
                self.own.push((row_number(index), number));
            }
            None if self.no_default => self.none.push(row_number(index)),
            None => {}
        }
    }

    /// Fills the plan's templates of the rows to send (their own or the default), and the
    /// rows to send that have none.
    pub(super) fn settle(self, plan: &mut Plan) {
        plan.row_templates = RowTemplates::new(self.default);
        let mut own = self.own.into_iter().peekable();
        for index in 0..plan.outcomes.len() {
            let own_id = own
                .next_if(|(row, _)| *row as usize == index)
                .map(|(_, number)| self.ids[number as usize].as_str());
            if !plan.outcomes.is_unsent(index) {
                continue;
            }
            if let Some(id) = own_id.or(self.default) {
                plan.row_templates.add(id, plan.lines[index]);
            }
        }
        plan.untemplated.numbering = plan.numbering.clone();
        for index in self.none {
            let index = index as usize;
            if plan.outcomes.is_unsent(index) {
                plan.untemplated.add(plan.lines[index]);
            }
        }
    }
}
