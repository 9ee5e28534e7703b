using System.Runtime.CompilerServices;

// The filter's hot path uses stack buffers sized for the longest host; they are always written
// before they are read, so zeroing them would only cost time.
[module: SkipLocalsInit]
