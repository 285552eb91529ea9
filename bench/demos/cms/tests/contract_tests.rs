//! Contract test: the generated OpenAPI document and the served routes agree.
mod common;
use common::*;

#[tokio::test]
async fn every_path_in_openapi_document_is_served() {
    let base = start().await;
    let doc = send(client().get(format!("{base}/openapi.json"))).await.1;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let req = call(&method.to_uppercase(), format!("{base}{}", path.replace("{id}", "x")), "");
            let r = req.json(&serde_json::json!({})).send().await.unwrap();
            let status = r.status().as_u16();
            let body = r.text().await.unwrap();
            assert!(status != 405 && !body.contains("no such route"), "{method} {path}: {status} {body}");
        }
    }
}
