/*
 * XML: responses are written with libxml2's xmlTextWriter into an xmlBuffer
 * that is sent as is (no copy) and freed with the request pool; request
 * bodies (CreateBucketConfiguration, VersioningConfiguration, Delete) are
 * parsed by libxml2 without network access, without DTDs and entity
 * expansion, and only up to pfs_s3_max_xml_body_size (2 MiB for Delete).
 */

#include <ngx_http_pfs_s3.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlwriter.h>


#define NGX_HTTP_PFS_S3_XMLNS  "http://s3.amazonaws.com/doc/2006-03-01/"


struct ngx_http_pfs_s3_xml_s {
    xmlBufferPtr        buf;
    xmlTextWriterPtr    writer;
    ngx_pool_t         *pool;
    u_char             *scratch;      /* an escaped element, reused */
    size_t              scratch_size;
    ngx_uint_t          failed;
};


static void ngx_http_pfs_s3_xml_cleanup(void *data);
static u_char *ngx_http_pfs_s3_xml_clean(ngx_http_pfs_s3_xml_t *x, u_char *p,
    size_t len);
static void ngx_http_pfs_s3_xml_write(ngx_http_pfs_s3_xml_t *x,
    const char *name, u_char *value, size_t len);
static void ngx_http_pfs_s3_xml_doc_cleanup(void *data);


ngx_http_pfs_s3_xml_t *
ngx_http_pfs_s3_xml_start(ngx_http_request_t *r, const char *root,
    ngx_uint_t ns)
{
    ngx_pool_cleanup_t     *cln;
    ngx_http_pfs_s3_xml_t  *x;

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_pfs_s3_xml_t));
    if (cln == NULL) {
        return NULL;
    }

    x = cln->data;
    ngx_memzero(x, sizeof(ngx_http_pfs_s3_xml_t));
    x->pool = r->pool;

    cln->handler = ngx_http_pfs_s3_xml_cleanup;

    x->buf = xmlBufferCreate();
    if (x->buf == NULL) {
        return NULL;
    }

    x->writer = xmlNewTextWriterMemory(x->buf, 0);
    if (x->writer == NULL) {
        return NULL;
    }

    if (xmlTextWriterStartDocument(x->writer, "1.0", "UTF-8", NULL) < 0
        || xmlTextWriterStartElement(x->writer, BAD_CAST root) < 0)
    {
        return NULL;
    }

    if (ns && xmlTextWriterWriteAttribute(x->writer, BAD_CAST "xmlns",
                                          BAD_CAST NGX_HTTP_PFS_S3_XMLNS)
              < 0)
    {
        return NULL;
    }

    return x;
}


static void
ngx_http_pfs_s3_xml_cleanup(void *data)
{
    ngx_http_pfs_s3_xml_t  *x = data;

    if (x->writer) {
        xmlFreeTextWriter(x->writer);
        x->writer = NULL;
    }

    if (x->buf) {
        xmlBufferFree(x->buf);
        x->buf = NULL;
    }
}


void
ngx_http_pfs_s3_xml_open(ngx_http_pfs_s3_xml_t *x, const char *name)
{
    if (xmlTextWriterStartElement(x->writer, BAD_CAST name) < 0) {
        x->failed = 1;
    }
}


void
ngx_http_pfs_s3_xml_close(ngx_http_pfs_s3_xml_t *x)
{
    if (xmlTextWriterEndElement(x->writer) < 0) {
        x->failed = 1;
    }
}


/*
 * XML 1.0 cannot carry most control characters, U+FFFE and U+FFFF, nor
 * bytes that are not UTF-8, even escaped: such values (a prefix a client sent, say) are written
 * with those bytes replaced by "?" rather than producing a document clients
 * cannot parse.  Clients that need them exactly ask for encoding-type=url.
 */

static u_char *
ngx_http_pfs_s3_xml_clean(ngx_http_pfs_s3_xml_t *x, u_char *p, size_t len)
{
    u_char  *s, *d;
    size_t   i;

    if (len == 0) {
        return (u_char *) "";
    }

    for (i = 0; i < len; i++) {
        if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r') {
            break;
        }

        /* U+FFFE and U+FFFF are valid UTF-8 but not XML characters */

        if (p[i] == 0xef && len - i >= 3 && p[i + 1] == 0xbf
            && (p[i + 2] == 0xbe || p[i + 2] == 0xbf))
        {
            break;
        }
    }

    if (i == len && ngx_http_pfs_s3_utf8_valid(p, len) == NGX_OK) {
        return p;
    }

    s = ngx_pnalloc(x->pool, len);
    if (s == NULL) {
        return NULL;
    }

    for (i = 0, d = s; i < len; i++) {
        *d++ = (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
               || p[i] >= 0x80 ? '?' : p[i];
    }

    return s;
}


void
ngx_http_pfs_s3_xml_elem(ngx_http_pfs_s3_xml_t *x, const char *name,
    u_char *value, size_t len)
{
    ngx_http_pfs_s3_xml_write(x, name, value, len);
}


void
ngx_http_pfs_s3_xml_text(ngx_http_pfs_s3_xml_t *x, u_char *value, size_t len)
{
    ngx_http_pfs_s3_xml_write(x, NULL, value, len);
}


/*
 * "<name>value</name>" (or the value alone), escaped as libxml2's own
 * text writer does (& < > " CR), handed to the writer in one raw write.
 * The writer's element and formatted-string calls allocated and printed
 * for every element: four fifths of a 1000-key ListObjectsV2 page's CPU.
 */

static void
ngx_http_pfs_s3_xml_write(ngx_http_pfs_s3_xml_t *x, const char *name,
    u_char *value, size_t len)
{
    u_char  *p, *end, *d;
    size_t   nlen, size;

    value = ngx_http_pfs_s3_xml_clean(x, value, len);
    if (value == NULL) {
        x->failed = 1;
        return;
    }

    nlen = name ? ngx_strlen(name) : 0;
    end = value + len;
    size = name ? 2 * nlen + sizeof("<></>") - 1 : 0;

    for (p = value; p < end; p++) {
        switch (*p) {
        case '&':  size += sizeof("&amp;") - 1; break;
        case '<':
        case '>':  size += sizeof("&lt;") - 1; break;
        case '"':  size += sizeof("&quot;") - 1; break;
        case '\r': size += sizeof("&#13;") - 1; break;
        default:   size++;
        }
    }

    if (size > x->scratch_size) {
        x->scratch_size = ngx_max(size, 256);
        x->scratch = ngx_pnalloc(x->pool, x->scratch_size);
        if (x->scratch == NULL) {
            x->scratch_size = 0;
            x->failed = 1;
            return;
        }
    }

    d = x->scratch;

    if (name) {
        *d++ = '<';
        d = ngx_cpymem(d, name, nlen);
        *d++ = '>';
    }

    for (p = value; p < end; p++) {
        switch (*p) {
        case '&':  d = ngx_cpymem(d, "&amp;", 5); break;
        case '<':  d = ngx_cpymem(d, "&lt;", 4); break;
        case '>':  d = ngx_cpymem(d, "&gt;", 4); break;
        case '"':  d = ngx_cpymem(d, "&quot;", 6); break;
        case '\r': d = ngx_cpymem(d, "&#13;", 5); break;
        default:   *d++ = *p;
        }
    }

    if (name) {
        *d++ = '<';
        *d++ = '/';
        d = ngx_cpymem(d, name, nlen);
        *d++ = '>';
    }

    if (d > x->scratch
        && xmlTextWriterWriteRawLen(x->writer, x->scratch, d - x->scratch) < 0)
    {
        x->failed = 1;
    }
}


void
ngx_http_pfs_s3_xml_elem_str(ngx_http_pfs_s3_xml_t *x, const char *name,
    const char *value)
{
    ngx_http_pfs_s3_xml_elem(x, name, (u_char *) value, ngx_strlen(value));
}


/* A value written as is, or percent-encoded for encoding-type=url. */

void
ngx_http_pfs_s3_xml_elem_url(ngx_http_pfs_s3_xml_t *x, const char *name,
    ngx_str_t *value, ngx_uint_t url)
{
    u_char     *p, *d, c;
    size_t      n;

    static u_char  hex[] = "0123456789ABCDEF";

    if (!url) {
        ngx_http_pfs_s3_xml_elem(x, name, value->data, value->len);
        return;
    }

    /* as S3 does: everything but unreserved characters and "/" escaped */

    n = 0;

    for (p = value->data; p < value->data + value->len; p++) {
        c = *p;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'
            || c == '~' || c == '/')
        {
            n++;

        } else {
            n += 3;
        }
    }

    d = ngx_pnalloc(x->pool, n);
    if (d == NULL) {
        x->failed = 1;
        return;
    }

    p = d;

    for (n = 0; n < value->len; n++) {
        c = value->data[n];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'
            || c == '~' || c == '/')
        {
            *p++ = c;

        } else {
            *p++ = '%';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 0xf];
        }
    }

    ngx_http_pfs_s3_xml_elem(x, name, d, p - d);
}


void
ngx_http_pfs_s3_xml_elem_num(ngx_http_pfs_s3_xml_t *x, const char *name,
    off_t n)
{
    u_char  buf[NGX_OFF_T_LEN];
    u_char *p;

    p = ngx_sprintf(buf, "%O", n);

    ngx_http_pfs_s3_xml_elem(x, name, buf, p - buf);
}


ngx_int_t
ngx_http_pfs_s3_xml_send(ngx_http_request_t *r, ngx_http_pfs_s3_xml_t *x,
    ngx_uint_t status)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    if (xmlTextWriterEndDocument(x->writer) < 0
        || xmlTextWriterFlush(x->writer) < 0)
    {
        x->failed = 1;
    }

    if (x->failed) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "pfs_s3: could not write an XML response");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = (u_char *) xmlBufferContent(x->buf);
    b->last = b->pos + xmlBufferLength(x->buf);
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = status;
    r->headers_out.content_length_n = b->last - b->pos;

    ngx_str_set(&r->headers_out.content_type, "application/xml");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/*
 * Reads a small request document safely and returns its root element when
 * it is named "root"; NULL for anything else (or no memory: *error set).
 * The document is freed with the request pool.
 */

static xmlNodePtr
ngx_http_pfs_s3_xml_read(ngx_http_request_t *r, u_char *data, size_t len,
    const char *root, ngx_uint_t *error)
{
    xmlDocPtr            doc;
    xmlNodePtr           node;
    ngx_pool_cleanup_t  *cln;

    *error = 0;

    /*
     * No document type declarations at all: S3 bodies never have one, and
     * refusing them up front rules out entity expansion and external
     * entities whatever the libxml2 version does by default.
     */

    if (ngx_strlcasestrn(data, data + len, (u_char *) "<!DOCTYPE", 9 - 1)
        || ngx_strlcasestrn(data, data + len, (u_char *) "<!ENTITY", 8 - 1))
    {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        *error = 1;
        return NULL;
    }

    /*
     * The encoding is UTF-8, whatever the document claims: S3 documents
     * are UTF-8, and in another encoding (UTF-16, EBCDIC, which libxml2
     * would detect) the DOCTYPE check above would not see a declaration.
     */

    doc = xmlReadMemory((const char *) data, (int) len, NULL, "UTF-8",
                        XML_PARSE_NONET | XML_PARSE_NOERROR
                        | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
    if (doc == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_pfs_s3_xml_doc_cleanup;
    cln->data = doc;

    if (doc->intSubset || doc->extSubset) {
        return NULL;
    }

    node = xmlDocGetRootElement(doc);

    if (node == NULL || xmlStrcmp(node->name, BAD_CAST root) != 0) {
        return NULL;
    }

    return node;
}


/* The text of an element, copied into the request pool. */

static ngx_int_t
ngx_http_pfs_s3_xml_node_text(ngx_http_request_t *r, xmlNodePtr node,
    ngx_str_t *value)
{
    xmlChar  *text;

    text = xmlNodeGetContent(node);
    if (text == NULL) {
        return NGX_ERROR;
    }

    value->len = ngx_strlen(text);
    value->data = ngx_pnalloc(r->pool, value->len + 1);

    if (value->data) {
        ngx_memcpy(value->data, text, value->len + 1);
    }

    xmlFree(text);

    return value->data ? NGX_OK : NGX_ERROR;
}


/*
 * The text of an element that holds a token (a number, an ETag), without
 * the XML whitespace a pretty-printed document puts around it.  Keys are
 * read with ngx_http_pfs_s3_xml_node_text(): their spaces are theirs.
 */

static ngx_int_t
ngx_http_pfs_s3_xml_node_token(ngx_http_request_t *r, xmlNodePtr node,
    ngx_str_t *value)
{
    u_char  *p, *last;

    if (ngx_http_pfs_s3_xml_node_text(r, node, value) != NGX_OK) {
        return NGX_ERROR;
    }

    p = value->data;
    last = p + value->len;

    while (p < last && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
    {
        p++;
    }

    while (last > p
           && (last[-1] == ' ' || last[-1] == '\t' || last[-1] == '\r'
               || last[-1] == '\n'))
    {
        last--;
    }

    *last = '\0';

    value->data = p;
    value->len = last - p;

    return NGX_OK;
}


/*
 * Parses a small request document whose root element is "root" and returns
 * the text of its child element "field" (found = 0 when absent).  Returns
 * NGX_DECLINED for anything that is not such a document.
 */

ngx_int_t
ngx_http_pfs_s3_xml_parse(ngx_http_request_t *r, u_char *data, size_t len,
    const char *root, const char *field, ngx_str_t *value, ngx_uint_t *found)
{
    xmlNodePtr  node;
    ngx_uint_t  error;

    *found = 0;

    node = ngx_http_pfs_s3_xml_read(r, data, len, root, &error);
    if (node == NULL) {
        return error ? NGX_ERROR : NGX_DECLINED;
    }

    for (node = node->children; node; node = node->next) {

        if (node->type != XML_ELEMENT_NODE
            || xmlStrcmp(node->name, BAD_CAST field) != 0)
        {
            continue;
        }

        if (ngx_http_pfs_s3_xml_node_text(r, node, value) != NGX_OK) {
            return NGX_ERROR;
        }

        *found = 1;
        break;
    }

    return NGX_OK;
}


/*
 * The Delete document of DeleteObjects: Quiet, and Object elements with a
 * Key and an optional VersionId, in order.  At most "max" + 1 objects are
 * kept (one more tells the caller there are too many).  NGX_DECLINED: not
 * such a document (an Object without its Key, an unknown element).
 */

ngx_int_t
ngx_http_pfs_s3_xml_parse_delete(ngx_http_request_t *r, u_char *data,
    size_t len, ngx_uint_t max, ngx_array_t *objects, ngx_uint_t *quiet)
{
    ngx_str_t                     v;
    xmlNodePtr                    node, child;
    ngx_uint_t                    error, has_key;
    ngx_http_pfs_s3_xml_object_t  *obj;

    *quiet = 0;

    node = ngx_http_pfs_s3_xml_read(r, data, len, "Delete", &error);
    if (node == NULL) {
        return error ? NGX_ERROR : NGX_DECLINED;
    }

    for (node = node->children; node; node = node->next) {

        if (node->type != XML_ELEMENT_NODE) {
            continue;
        }

        if (xmlStrcmp(node->name, BAD_CAST "Quiet") == 0) {
            if (ngx_http_pfs_s3_xml_node_text(r, node, &v) != NGX_OK) {
                return NGX_ERROR;
            }

            *quiet = (v.len == 4 && ngx_strncasecmp(v.data,
                                                    (u_char *) "true", 4)
                                    == 0);
            continue;
        }

        if (xmlStrcmp(node->name, BAD_CAST "Object") != 0) {
            return NGX_DECLINED;
        }

        if (objects->nelts > max) {
            return NGX_OK;
        }

        obj = ngx_array_push(objects);
        if (obj == NULL) {
            return NGX_ERROR;
        }

        ngx_memzero(obj, sizeof(ngx_http_pfs_s3_xml_object_t));
        has_key = 0;

        for (child = node->children; child; child = child->next) {

            if (child->type != XML_ELEMENT_NODE) {
                continue;
            }

            if (xmlStrcmp(child->name, BAD_CAST "Key") == 0) {
                if (ngx_http_pfs_s3_xml_node_text(r, child, &obj->key)
                    != NGX_OK)
                {
                    return NGX_ERROR;
                }

                has_key = 1;

            } else if (xmlStrcmp(child->name, BAD_CAST "VersionId") == 0) {
                if (ngx_http_pfs_s3_xml_node_text(r, child, &obj->version)
                    != NGX_OK)
                {
                    return NGX_ERROR;
                }

                obj->has_version = 1;
            }

            /* ETag, LastModifiedTime, Size: conditions PFS cannot keep */
        }

        if (!has_key) {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


/*
 * CompleteMultipartUpload: the PartNumber and ETag of each Part, in the
 * document's order (the caller checks them).  NGX_DECLINED when the
 * document is malformed, has no Part, or a Part lacks either field.
 */

ngx_int_t
ngx_http_pfs_s3_xml_parse_parts(ngx_http_request_t *r, u_char *data,
    size_t len, ngx_array_t *parts)
{
    ngx_int_t                    rc;
    xmlNodePtr                   node, field;
    ngx_uint_t                   error;
    ngx_http_pfs_s3_xml_part_t  *part;

    node = ngx_http_pfs_s3_xml_read(r, data, len, "CompleteMultipartUpload",
                                    &error);
    if (node == NULL) {
        return error ? NGX_ERROR : NGX_DECLINED;
    }

    for (node = node->children; node; node = node->next) {

        if (node->type != XML_ELEMENT_NODE
            || xmlStrcmp(node->name, BAD_CAST "Part") != 0)
        {
            continue;
        }

        part = ngx_array_push(parts);
        if (part == NULL) {
            return NGX_ERROR;
        }

        ngx_memzero(part, sizeof(ngx_http_pfs_s3_xml_part_t));

        for (field = node->children; field; field = field->next) {

            if (field->type != XML_ELEMENT_NODE) {
                continue;
            }

            if (xmlStrcmp(field->name, BAD_CAST "PartNumber") == 0) {
                rc = ngx_http_pfs_s3_xml_node_token(r, field, &part->number);

            } else if (xmlStrcmp(field->name, BAD_CAST "ETag") == 0) {
                rc = ngx_http_pfs_s3_xml_node_token(r, field, &part->etag);

            } else {
                continue;   /* checksums: not kept by PFS */
            }

            if (rc != NGX_OK) {
                return NGX_ERROR;
            }
        }

        if (part->number.data == NULL || part->etag.data == NULL) {
            return NGX_DECLINED;
        }
    }

    return parts->nelts ? NGX_OK : NGX_DECLINED;
}


static void
ngx_http_pfs_s3_xml_doc_cleanup(void *data)
{
    xmlFreeDoc(data);
}
