// model/tensor.h — the plain tensor the executor passes between ops.
//
// Dimension order is TensorFlow's: images are NHWC [batch, height, width, channels];
// for MusiCNN height is time (frames) and width is mel band. Data is dense C order
// (row-major, last dimension contiguous); there are no strides: ops that only
// reinterpret a shape (Reshape, ExpandDims, Squeeze, Identity) share their input's
// buffer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tagscape::model {

enum class DType : uint8_t {
  f32,   // float
  i32,   // int32_t
  b8,    // bool, one byte per value
};

size_t dtype_size(DType dtype);         // bytes per element
const char* dtype_name(DType dtype);    // "float32", "int32", "bool"

using Shape = std::vector<int64_t>;

int64_t element_count(const Shape& shape);  // product of dims; 1 for a scalar
std::string shape_string(const Shape& shape);  // "[2, 187, 96]"

// A view: dtype + shape + pointer. Does not own its data (the executor's arena or
// the graph's constants do).
struct Tensor {
  DType dtype = DType::f32;
  Shape shape;
  void* data = nullptr;  // element_count(shape) values of dtype

  int64_t size() const { return element_count(shape); }
  int rank() const { return static_cast<int>(shape.size()); }
  float* f32() const { return static_cast<float*>(data); }
  int32_t* i32() const { return static_cast<int32_t*>(data); }
};

// A tensor that owns its bytes: graph constants and executor outputs.
struct OwnedTensor {
  DType dtype = DType::f32;
  Shape shape;
  std::vector<uint8_t> bytes;  // element_count(shape) * dtype_size(dtype)

  Tensor view() const { return {dtype, shape, const_cast<uint8_t*>(bytes.data())}; }
  const float* f32() const { return reinterpret_cast<const float*>(bytes.data()); }
  const int32_t* i32() const { return reinterpret_cast<const int32_t*>(bytes.data()); }
};

}  // namespace tagscape::model
