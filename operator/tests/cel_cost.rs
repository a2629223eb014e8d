//! The CRDs' CEL rules within the apiserver's cost limits, estimated the way the apiserver estimates them.
//!
//! At CRD write time kube-apiserver estimates each `x-kubernetes-validations` rule's worst-case cost from the
//! schema's `maxItems`/`maxLength` bounds (cel-go's `checker.CostEstimator`, sizes from
//! k8s.io/apiserver/pkg/cel) and refuses the CRD when one rule exceeds `StaticEstimatedCostLimit` (10,000,000)
//! or the rules together, each multiplied by how many times it can run in one object (the product of the
//! `maxItems` of the lists above it), exceed `StaticEstimatedCRDCostLimit` (100,000,000). A quadratic
//! uniqueness rule over 5,000 devices is about 5,000 × 5,000 × 10 = 250,000,000: the CRD would never install.
//!
//! The estimator below follows cel-go's cost model: identifiers and field selections cost 1, constants 0, a
//! call 1 plus its arguments, `&&`/`||` both sides, `?:` the condition plus the dearer branch, `in` the list's
//! size, string comparison a tenth of the shorter string's length, and a comprehension its range size times the
//! cost of one iteration (condition and step, which contains any nested comprehension). Where cel-go's exact
//! accounting is not replicated it overestimates: equality of lists and objects is charged as the comparison
//! of every bounded field of every element. So a rule passing here passes the apiserver.

use std::collections::BTreeMap;

use kube::core::cel::cel::Program;
use kube::core::cel::cel::common::ast::{Expr, LiteralValue};
use serde_json::Value;

/// k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation.
const STATIC_ESTIMATED_COST_LIMIT: u64 = 10_000_000;
const STATIC_ESTIMATED_CRD_COST_LIMIT: u64 = 100_000_000;
/// k8s.io/apiserver/pkg/apis/cel: the largest request, which bounds every unbounded size.
const MAX_REQUEST_BYTES: u64 = 3 * 1024 * 1024;
/// cel-go's `common.StringTraversalCostFactor`.
const STRING_TRAVERSAL: f64 = 0.1;

/// What the estimator knows of a value: its schema node (if known) and its largest size.
#[derive(Clone)]
struct Ty<'a> {
    schema: Option<&'a Value>,
    /// Items of a list, characters of a string (MAX_REQUEST_BYTES when unbounded).
    size: u64,
}

impl<'a> Ty<'a> {
    fn of(schema: &'a Value) -> Self {
        let size = match schema["type"].as_str() {
            Some("array") => schema["maxItems"].as_u64().unwrap_or(MAX_REQUEST_BYTES),
            Some("string") => string_size(schema),
            Some("object") => schema["maxProperties"].as_u64().unwrap_or(MAX_REQUEST_BYTES),
            _ => 1,
        };
        Ty { schema: Some(schema), size }
    }
    fn unknown() -> Self {
        Ty { schema: None, size: MAX_REQUEST_BYTES }
    }
    fn scalar() -> Self {
        Ty { schema: None, size: 1 }
    }
    fn items(&self) -> Ty<'a> {
        match self.schema {
            Some(s) if s["type"] == "array" => Ty::of(&s["items"]),
            Some(s) if s["type"] == "object" => Ty::of(&s["additionalProperties"]),
            _ => Ty::unknown(),
        }
    }
    fn is_string(&self) -> bool {
        self.schema.is_some_and(|s| s["type"] == "string")
    }
}

fn string_size(s: &Value) -> u64 {
    if let Some(n) = s["maxLength"].as_u64() {
        return n;
    }
    if let Some(e) = s["enum"].as_array() {
        return e.iter().filter_map(Value::as_str).map(|v| v.len() as u64).max().unwrap_or(0);
    }
    match s["format"].as_str() {
        // RFC 3339 with nanoseconds and an offset.
        Some("date-time") => 35,
        _ => MAX_REQUEST_BYTES,
    }
}

/// The cost of comparing two values of this schema for equality (cel-go: strings by traversal, the rest
/// charged here element by element, which is at least what cel-go charges).
fn equality_cost(t: &Ty) -> u64 {
    let Some(s) = t.schema else { return (MAX_REQUEST_BYTES as f64 * STRING_TRAVERSAL).ceil() as u64 };
    match s["type"].as_str() {
        Some("string") => 1 + (t.size as f64 * STRING_TRAVERSAL).ceil() as u64,
        Some("array") => 1 + t.size.saturating_mul(equality_cost(&t.items())),
        Some("object") => match s["properties"].as_object() {
            Some(props) => 1 + props.values().map(|p| equality_cost(&Ty::of(p))).sum::<u64>(),
            None if s.get("additionalProperties").is_some() => 1 + t.size.saturating_mul(equality_cost(&t.items())),
            // An object without a schema (resources, metadata): bounded by the request only.
            None => (MAX_REQUEST_BYTES as f64 * STRING_TRAVERSAL).ceil() as u64,
        },
        _ => 1,
    }
}

struct Estimator<'a> {
    vars: BTreeMap<String, Ty<'a>>,
}

impl<'a> Estimator<'a> {
    /// (cost, type of the result)
    fn cost(&mut self, e: &Expr) -> (u64, Ty<'a>) {
        match e {
            Expr::Literal(LiteralValue::String(s)) => (0, Ty { schema: None, size: s.len() as u64 }),
            Expr::Literal(_) => (0, Ty::scalar()),
            Expr::Ident(name) => (1, self.vars.get(name).cloned().unwrap_or_else(Ty::scalar)),
            Expr::Select(sel) => {
                let (c, t) = self.cost(&sel.operand.expr);
                if sel.test {
                    return (c + 1, Ty::scalar());
                }
                let field = match t.schema {
                    Some(s) if s["type"] == "object" && s["properties"].get(&sel.field).is_some() => {
                        Ty::of(&s["properties"][&sel.field])
                    }
                    // `self.metadata.name` at a CRD's root: an object name (at most 253 characters).
                    _ if sel.field == "name" => Ty::of(&NAME),
                    _ => Ty::unknown(),
                };
                (c + 1, field)
            }
            Expr::List(l) => {
                let c: u64 = l.elements.iter().map(|x| self.cost(&x.expr).0).sum();
                (10 + c, Ty { schema: None, size: l.elements.len() as u64 })
            }
            Expr::Map(m) => {
                let c: u64 = m.entries.len() as u64 * 2;
                (30 + c, Ty::unknown())
            }
            Expr::Struct(_) => (40, Ty::unknown()),
            Expr::Comprehension(comp) => {
                let (range_cost, range) = self.cost(&comp.iter_range.expr);
                let (init_cost, _) = self.cost(&comp.accu_init.expr);
                let saved: Vec<_> = [&comp.iter_var, &comp.accu_var]
                    .into_iter()
                    .map(|v| (v.clone(), self.vars.get(v).cloned()))
                    .collect();
                self.vars.insert(comp.iter_var.clone(), range.items());
                self.vars.insert(comp.accu_var.clone(), Ty::scalar());
                let (cond, _) = self.cost(&comp.loop_cond.expr);
                let (step, _) = self.cost(&comp.loop_step.expr);
                let (result, result_ty) = self.cost(&comp.result.expr);
                for (k, v) in saved {
                    match v {
                        Some(v) => self.vars.insert(k, v),
                        None => self.vars.remove(&k),
                    };
                }
                let total = range_cost + init_cost + result + range.size.saturating_mul(cond + step);
                // map/filter keep the range's size; all/exists yield a bool.
                let ty = if result_ty.size > 1 { Ty { schema: None, size: range.size } } else { result_ty };
                (total, ty)
            }
            Expr::Call(call) => {
                let target = call.target.as_ref().map(|t| self.cost(&t.expr));
                let args: Vec<(u64, Ty)> = call.args.iter().map(|a| self.cost(&a.expr)).collect();
                let sum = target.as_ref().map_or(0, |t| t.0) + args.iter().map(|a| a.0).sum::<u64>();
                match call.func_name.as_str() {
                    "_&&_" | "_||_" => (sum, Ty::scalar()),
                    "_?_:_" => (args[0].0 + args[1].0.max(args[2].0), args[1].1.clone()),
                    "@in" => (sum + args[1].1.size, Ty::scalar()),
                    "_==_" | "_!=_" => {
                        let smaller = if args[0].1.size <= args[1].1.size { &args[0].1 } else { &args[1].1 };
                        let c = if args[0].1.schema.is_some() || args[1].1.schema.is_some() {
                            let known = if args[0].1.schema.is_some() { &args[0].1 } else { &args[1].1 };
                            if known.is_string() {
                                1 + (smaller.size as f64 * STRING_TRAVERSAL).ceil() as u64
                            } else {
                                equality_cost(known)
                            }
                        } else {
                            1 + (smaller.size as f64 * STRING_TRAVERSAL).ceil() as u64
                        };
                        (sum + c, Ty::scalar())
                    }
                    "_<_" | "_<=_" | "_>_" | "_>=_" => {
                        let smaller = args[0].1.size.min(args[1].1.size);
                        let c = if args[0].1.is_string() {
                            1 + (smaller as f64 * STRING_TRAVERSAL).ceil() as u64
                        } else {
                            1
                        };
                        (sum + c, Ty::scalar())
                    }
                    "contains" | "startsWith" | "endsWith" => {
                        let len = target.as_ref().map_or(MAX_REQUEST_BYTES, |t| t.1.size);
                        (sum + 1 + (len as f64 * STRING_TRAVERSAL).ceil() as u64, Ty::scalar())
                    }
                    "matches" => {
                        let len = target.as_ref().map_or(MAX_REQUEST_BYTES, |t| t.1.size);
                        (sum + 1 + (len as f64 * STRING_TRAVERSAL).ceil() as u64 * 64, Ty::scalar())
                    }
                    _ => (sum + 1, Ty::scalar()),
                }
            }
            Expr::Unspecified => (0, Ty::scalar()),
        }
    }
}

/// `metadata.name`, which CEL sees at a CRD's root though the CRD schema does not declare it.
static NAME: std::sync::LazyLock<Value> =
    std::sync::LazyLock::new(|| serde_json::json!({"type": "string", "maxLength": 253}));

/// One rule with where it sits, its estimated cost and how many times it can run in one object.
#[derive(Debug)]
struct Estimate {
    crd: String,
    path: String,
    rule: String,
    cost: u64,
    cardinality: u64,
}

fn rules(crd: &str, node: &Value, path: String, cardinality: u64, out: &mut Vec<Estimate>) {
    for v in node["x-kubernetes-validations"].as_array().into_iter().flatten() {
        let rule = v["rule"].as_str().expect("rule").to_owned();
        let program = Program::compile(&rule).unwrap_or_else(|e| panic!("{crd} {path}: {rule}: {e:?}"));
        let me = Ty::of(node);
        let mut est = Estimator { vars: BTreeMap::from([("self".into(), me.clone()), ("oldSelf".into(), me)]) };
        let (cost, _) = est.cost(&program.expression().expr);
        out.push(Estimate { crd: crd.into(), path: path.clone(), rule, cost, cardinality });
    }
    if let Some(props) = node["properties"].as_object() {
        for (k, child) in props {
            rules(crd, child, format!("{path}.{k}"), cardinality, out);
        }
    }
    if node["type"] == "array" {
        let n = node["maxItems"].as_u64().unwrap_or(MAX_REQUEST_BYTES);
        rules(crd, &node["items"], format!("{path}[*]"), cardinality.saturating_mul(n), out);
    }
    if node["additionalProperties"].is_object() {
        let n = node["maxProperties"].as_u64().unwrap_or(MAX_REQUEST_BYTES);
        rules(crd, &node["additionalProperties"], format!("{path}{{*}}"), cardinality.saturating_mul(n), out);
    }
}

fn estimates() -> Vec<Vec<Estimate>> {
    urna_operator::crd::all()
        .into_iter()
        .map(|crd| {
            let name = crd.metadata.name.clone().unwrap_or_default();
            let schema = serde_json::to_value(&crd.spec.versions[0].schema).expect("json");
            let mut out = vec![];
            rules(&name, &schema["openAPIV3Schema"], String::new(), 1, &mut out);
            out
        })
        .collect()
}

#[test]
fn every_rule_and_every_crd_is_within_the_apiservers_cost_limits() {
    let mut over = vec![];
    for crd in estimates() {
        let mut total: u64 = 0;
        for e in &crd {
            println!("{:>12} ×{:<6} {} {}: {}", e.cost, e.cardinality, e.crd, e.path, e.rule);
            if e.cost > STATIC_ESTIMATED_COST_LIMIT {
                over.push(format!(
                    "{} {}: `{}` costs {} > {STATIC_ESTIMATED_COST_LIMIT}",
                    e.crd, e.path, e.rule, e.cost
                ));
            }
            total = total.saturating_add(e.cost.saturating_mul(e.cardinality));
        }
        let name = crd.first().map(|e| e.crd.clone()).unwrap_or_default();
        println!("{name}: total {total}");
        if total > STATIC_ESTIMATED_CRD_COST_LIMIT {
            over.push(format!("{name}: rules cost {total} in all > {STATIC_ESTIMATED_CRD_COST_LIMIT}"));
        }
    }
    assert!(over.is_empty(), "the apiserver would refuse these CRDs:\n{}", over.join("\n"));
}

/// The estimator itself: a quadratic uniqueness rule over 5,000 devices is far over the limit (the rule the
/// BoothFleet CRD once had), and the same list declared as a map keyed by id needs no rule at all.
#[test]
fn the_estimator_charges_nested_comprehensions_by_their_bounds() {
    let schema: Value = serde_json::json!({
        "type": "array", "maxItems": 5000,
        "items": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "maxLength": 40}}}
    });
    let cost = |rule: &str| {
        let program = Program::compile(rule).expect("compiles");
        let me = Ty::of(&schema);
        let mut est = Estimator { vars: BTreeMap::from([("self".into(), me)]) };
        est.cost(&program.expression().expr).0
    };
    let quadratic = cost("self.all(x, self.exists_one(y, y.id == x.id))");
    assert!(quadratic > 5000 * 5000 * 5, "{quadratic}");
    assert!(quadratic > STATIC_ESTIMATED_COST_LIMIT);
    let linear = cost("self.all(x, x.id != '')");
    assert!(linear < 5000 * 20 && linear > 5000, "{linear}");
    assert_eq!(cost("size(self) > 0"), 1 + 1 + 1, "self, size(), >");
}
