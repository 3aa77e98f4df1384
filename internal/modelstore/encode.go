package modelstore

import "encoding/base64"

// encodeName mirrors how the object store names meta subjects, so that the
// delete marker of a version can be purged by subject.
func encodeName(name string) string { return base64.URLEncoding.EncodeToString([]byte(name)) }
