package drain

import "errors"

// ErrConfig is wrapped by errors about an invalid Config.
var ErrConfig = errors.New("invalid drain config")

// ErrSnapshot is wrapped by every error Load returns for a snapshot that is
// corrupt, truncated, of an unknown version or inconsistent.
var ErrSnapshot = errors.New("invalid drain snapshot")

// ErrNoCluster is returned by methods given a cluster id the model does not hold.
var ErrNoCluster = errors.New("no such cluster")

// ErrTemplateMismatch is returned by ExtractParameters when the line does not
// fit the template.
var ErrTemplateMismatch = errors.New("line does not match template")
