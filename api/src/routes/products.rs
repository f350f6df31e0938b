//! `/api/v1/products/`: the catalogue. Anyone signed in reads (list pages come
//! from the Redis cache); admins write.

use std::sync::Arc;

use poem::web::Data;
use poem::Request;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use uuid::Uuid;

use dispatch_core::catalogue::products::{
    parse_filter, ProductFields, ProductInput, ProductSort, RawProduct, RawProductFilter,
};
use dispatch_core::jobs::Followed;
use dispatch_shared::domain::ValidationErrors;

use crate::error::ApiResult;
use crate::extract::image_upload::ImageUpload;
use crate::extract::ordering::{ordering_or_default, OrderingParam};
use crate::extract::pagination::{Page, PageParam, Paging};
use crate::extract::prefer::wait_and_applied;
use crate::extract::{AdminUser, AuthUser, JsonBody};
use crate::routes::ApiTags;
use crate::schemas::{JobAccepted, MoneyText, NewProduct, Product, ProductPatch};
use crate::state::AppState;

pub struct ProductsApi;

#[derive(ApiResponse)]
pub enum ProductCreated {
    #[oai(status = 201)]
    Created(Json<Product>),
}

#[derive(ApiResponse)]
pub enum ImageAccepted {
    /// The image was resized while the client waited (`Prefer: wait=N`).
    #[oai(status = 200)]
    Finished(Json<Product>, #[oai(header = "Preference-Applied")] String),
    /// Stored; the `resize_image` job is queued. Follow it.
    #[oai(status = 202)]
    Accepted(
        Json<JobAccepted>,
        #[oai(header = "Location")] String,
        #[oai(header = "Preference-Applied")] Option<String>,
    ),
}

#[derive(ApiResponse)]
pub enum ProductDeleted {
    /// Deleted, with the cart lines that held it; orders keep their copy.
    #[oai(status = 204)]
    NoContent,
}

fn full_input(body: &NewProduct) -> Result<ProductFields, ValidationErrors> {
    ProductFields::parse(
        &body.name,
        body.category_id,
        &body.price.0,
        RawProduct {
            brand: body.brand.as_deref(),
            description: body.description.as_deref(),
            quantity: body.quantity,
            rating: body.rating,
            ..RawProduct::default()
        },
    )
}

#[OpenApi(tag = "ApiTags::Catalogue")]
impl ProductsApi {
    /// Products
    ///
    /// Paginated; ordered by name, then price, unless `ordering` says otherwise (`name`,
    /// `price`, `created_at`, `rating`, `quantity`, each optionally prefixed by `-`). Text
    /// filters ignore case: `name`, `brand` and `category_name` match whole values,
    /// `*_contains` a part. `released_after=2024`: created in 2024 or later. Pages are
    /// cached in Redis; any product or category write takes effect on every instance before
    /// it answers.
    #[oai(path = "/api/v1/products/", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        request: &Request,
        _auth: AuthUser,
        /// 1-based page number.
        page: Query<Option<PageParam>>,
        /// Items per page (default 20; larger values are clamped to 100).
        page_size: Query<Option<PageParam>>,
        /// The category's whole name, ignoring case.
        category_name: Query<Option<String>>,
        /// The whole name, ignoring case.
        name: Query<Option<String>>,
        /// A part of the name, ignoring case.
        name_contains: Query<Option<String>>,
        /// The whole brand, ignoring case.
        brand: Query<Option<String>>,
        /// A part of the brand, ignoring case.
        brand_contains: Query<Option<String>>,
        /// At least this price, e.g. `10.00`.
        min_price: Query<Option<MoneyText>>,
        /// At most this price.
        max_price: Query<Option<MoneyText>>,
        /// At least this many in stock.
        #[oai(validator(maximum(value = "4294967295")))]
        min_quantity: Query<Option<u32>>,
        /// At most this many in stock.
        #[oai(validator(maximum(value = "4294967295")))]
        max_quantity: Query<Option<u32>>,
        /// At least this rating (0.1–5.0).
        #[oai(validator(minimum(value = "0.1"), maximum(value = "5.0")))]
        min_rating: Query<Option<f64>>,
        /// At most this rating (0.1–5.0).
        #[oai(validator(minimum(value = "0.1"), maximum(value = "5.0")))]
        max_rating: Query<Option<f64>>,
        /// Created in this year or later.
        #[oai(validator(minimum(value = "1"), maximum(value = "9999")))]
        released_after: Query<Option<i32>>,
        /// Sort keys, e.g. `-rating,price`.
        ordering: Query<Option<OrderingParam<ProductSort>>>,
    ) -> ApiResult<Json<Page<Product>>> {
        let paging = Paging::parse(page.0, page_size.0)?;
        let filter = parse_filter(RawProductFilter {
            category_name: category_name.0,
            name: name.0,
            name_contains: name_contains.0,
            brand: brand.0,
            brand_contains: brand_contains.0,
            min_price: min_price.0.map(|m| m.0),
            max_price: max_price.0.map(|m| m.0),
            min_quantity: min_quantity.0,
            max_quantity: max_quantity.0,
            min_rating: min_rating.0,
            max_rating: max_rating.0,
            released_after: released_after.0,
        })?;
        let ordering = ordering_or_default(ordering.0);
        let listed = state.products.list(&filter, &ordering, paging.window()).await?;
        Ok(Json(Page::of(request, paging, listed)?))
    }

    /// Create a product (admins only)
    ///
    /// `name`, `category_id` and `price` (a string such as `"12.50"`) are required;
    /// `quantity` defaults to 0 and `rating` to 5.0. An unknown category is a 400.
    #[oai(path = "/api/v1/products/", method = "post")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        admin: AdminUser,
        body: JsonBody<NewProduct>,
    ) -> ApiResult<ProductCreated> {
        let input = full_input(&body.0)?;
        let product = state.products.create(&admin.0, input).await?;
        Ok(ProductCreated::Created(Json(product.into())))
    }

    /// One product
    ///
    /// With its category's name and, once resized, its image URLs.
    #[oai(path = "/api/v1/products/:id/", method = "get")]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        _auth: AuthUser,
        /// The product's id.
        id: Path<Uuid>,
    ) -> ApiResult<Json<Product>> {
        Ok(Json(state.products.find(id.0).await?.into()))
    }

    /// Replace a product (admins only)
    ///
    /// Every field, as for POST; omitted optional fields take their defaults.
    #[oai(path = "/api/v1/products/:id/", method = "put")]
    async fn put(
        &self,
        state: Data<&Arc<AppState>>,
        admin: AdminUser,
        /// The product's id.
        id: Path<Uuid>,
        body: JsonBody<NewProduct>,
    ) -> ApiResult<Json<Product>> {
        let input = full_input(&body.0)?;
        let product = state.products.update(&admin.0, id.0, input.into()).await?;
        Ok(Json(product.into()))
    }

    /// Change some fields of a product (admins only)
    ///
    /// Omitted fields keep their value; the same rules as for POST apply to those given.
    #[oai(path = "/api/v1/products/:id/", method = "patch")]
    async fn patch(
        &self,
        state: Data<&Arc<AppState>>,
        admin: AdminUser,
        /// The product's id.
        id: Path<Uuid>,
        body: JsonBody<ProductPatch>,
    ) -> ApiResult<Json<Product>> {
        let body = body.0;
        let input = ProductInput::parse(RawProduct {
            name: body.name.as_deref(),
            brand: body.brand.as_deref(),
            description: body.description.as_deref(),
            category_id: body.category_id,
            price: body.price.as_ref().map(|p| p.0.as_str()),
            quantity: body.quantity,
            rating: body.rating,
        })?;
        let product = state.products.update(&admin.0, id.0, input).await?;
        Ok(Json(product.into()))
    }

    /// Upload a product image (admins only)
    ///
    /// Multipart field `image`: a JPEG, PNG or WebP image by its content (415 otherwise),
    /// at most 10 MiB (413) and 40 megapixels (400; judged from the header before anything
    /// is decoded). The original is stored and a `resize_image` job writes a thumbnail (long
    /// side 100 px) and a full size (500 px), never enlarged, in the original's format. Until
    /// it finishes `image_status` is `processing` and the previous image, if any, is shown.
    /// Answers 202 with the job; with `Prefer: wait=N` (N ≤ 30), 200 with the product.
    #[oai(path = "/api/v1/products/:id/image/", method = "post")]
    async fn upload_image(
        &self,
        state: Data<&Arc<AppState>>,
        request: &Request,
        admin: AdminUser,
        /// The product's id.
        id: Path<Uuid>,
        /// `wait=N`: hold the response up to N seconds for the outcome.
        #[oai(name = "Prefer")]
        _prefer: Header<Option<String>>,
        upload: ImageUpload,
    ) -> ApiResult<ImageAccepted> {
        let (wait, applied) = wait_and_applied(request);
        let uploaded =
            state.product_images.upload(&admin.0, id.0, upload.into_file(), wait).await?;
        Ok(match uploaded {
            Followed::Finished(product) => {
                ImageAccepted::Finished(Json(product.into()), applied.unwrap_or_default())
            }
            Followed::Accepted { job } => {
                let (body, location) = JobAccepted::answer(job);
                ImageAccepted::Accepted(body, location, applied)
            }
        })
    }

    /// Delete a product (admins only)
    ///
    /// Cart lines holding it go with it; orders keep their copy of its name and price.
    #[oai(path = "/api/v1/products/:id/", method = "delete")]
    async fn delete(
        &self,
        state: Data<&Arc<AppState>>,
        admin: AdminUser,
        /// The product's id.
        id: Path<Uuid>,
    ) -> ApiResult<ProductDeleted> {
        state.products.delete(&admin.0, id.0).await?;
        Ok(ProductDeleted::NoContent)
    }
}
